// zhuge NFQUEUE binding: the receive-path parser, pure (no N-API, no I/O), so that the native
// fuzzer (native/nfqueue/fuzz/parse-fuzz.cc) runs the very code the addon runs.
//
// One netlink datagram from the kernel holds netlink messages; the ones that matter:
//
//   nlmsghdr (16 B: len, type = NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET, flags, seq, pid)
//   nfgenmsg (4 B: family, version, res_id = queue number)
//   nlattr*  (4 B header: len, type; data; padded to 4 B)
//     NFQA_PACKET_HDR  __be32 packet_id, __be16 hw_protocol, __u8 hook
//     NFQA_MARK / NFQA_IFINDEX_INDEV / NFQA_IFINDEX_OUTDEV / NFQA_CAP_LEN   __be32
//     NFQA_TIMESTAMP   __be64 sec, __be64 usec
//     NFQA_HWADDR      __be16 hw_addrlen, __u16 pad, __u8 hw_addr[8]
//     NFQA_PAYLOAD     the packet, from its network header
//
//   NLMSG_ERROR: nlmsgerr (int error, the request's header): an ack (error 0) or a failure.
//
// Every read is bounded by the message's and the attribute's own length, both checked against
// what is left of the datagram; a malformed message or attribute ends the walk of that message.
#ifndef ZHUGE_NFQ_PARSE_H_
#define ZHUGE_NFQ_PARSE_H_

#include <arpa/inet.h>
#include <endian.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <string.h>

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace zhuge_nfq {

inline uint32_t ReadBe32(const uint8_t* p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return ntohl(v);
}

inline uint64_t ReadBe64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return be64toh(v);
}

struct PacketMeta {
  double id = 0, hwProtocol = 0, hook = 0, indev = 0, outdev = 0, mark = 0;
  double tsUs = NAN;   // NaN when the kernel gave no NFQA_TIMESTAMP
  double capLen = -1;  // NFQA_CAP_LEN, -1 when absent
  double hwAddr = 0;   // NFQA_HWADDR's 6 bytes as a number, 0 when absent
  const uint8_t* payload = nullptr;
  size_t payloadLen = 0;
};

// Parses one NFQNL_MSG_PACKET message; false when it carries no packet header (then ignored).
inline bool ParsePacket(const nlmsghdr* nlh, PacketMeta* m) {
  const size_t hdr = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  if (nlh->nlmsg_len < hdr) return false;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(nlh) + hdr;
  size_t left = nlh->nlmsg_len - hdr;
  bool haveHdr = false;
  *m = PacketMeta();
  while (left >= NLA_HDRLEN) {
    nlattr nla;
    memcpy(&nla, p, sizeof(nla));
    if (nla.nla_len < NLA_HDRLEN || nla.nla_len > left) break;
    const uint8_t* d = p + NLA_HDRLEN;
    size_t dl = nla.nla_len - NLA_HDRLEN;
    switch (nla.nla_type & NLA_TYPE_MASK) {
      case NFQA_PACKET_HDR:
        if (dl >= 7) {
          m->id = ReadBe32(d);
          m->hwProtocol = static_cast<double>((d[4] << 8) | d[5]);
          m->hook = d[6];
          haveHdr = true;
        }
        break;
      case NFQA_MARK:
        if (dl >= 4) m->mark = ReadBe32(d);
        break;
      case NFQA_IFINDEX_INDEV:
        if (dl >= 4) m->indev = ReadBe32(d);
        break;
      case NFQA_IFINDEX_OUTDEV:
        if (dl >= 4) m->outdev = ReadBe32(d);
        break;
      case NFQA_TIMESTAMP:
        if (dl >= 16) m->tsUs = static_cast<double>(ReadBe64(d)) * 1e6 + static_cast<double>(ReadBe64(d + 8));
        break;
      case NFQA_CAP_LEN:
        if (dl >= 4) m->capLen = ReadBe32(d);
        break;
      case NFQA_HWADDR:
        if (dl >= 12 && ((d[0] << 8) | d[1]) == 6) {
          m->hwAddr = 0;
          for (int i = 0; i < 6; i++) m->hwAddr = m->hwAddr * 256 + d[4 + i];
        }
        break;
      case NFQA_PAYLOAD:
        m->payload = d;
        m->payloadLen = dl;
        break;
      default:
        break;
    }
    size_t step = NLA_ALIGN(nla.nla_len);
    if (step >= left) break;
    p += step;
    left -= step;
  }
  return haveHdr;
}

// Walks one datagram: onPacket(const PacketMeta&) for each queued packet, onError(seq, error)
// for each NLMSG_ERROR (error 0: an ack).
template <class OnPacket, class OnError>
inline void ParseDatagram(const uint8_t* buf, size_t len, OnPacket onPacket, OnError onError) {
  const nlmsghdr* nlh = reinterpret_cast<const nlmsghdr*>(buf);
  int remaining = static_cast<int>(len);
  for (; NLMSG_OK(nlh, remaining); nlh = NLMSG_NEXT(nlh, remaining)) {
    if (nlh->nlmsg_type == NLMSG_ERROR) {
      if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) continue;
      nlmsgerr e;
      memcpy(&e, NLMSG_DATA(nlh), sizeof(e));
      onError(nlh->nlmsg_seq, e.error);
      continue;
    }
    if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_NOOP) continue;
    if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) continue;
    PacketMeta m;
    if (ParsePacket(nlh, &m)) onPacket(m);
  }
}

}  // namespace zhuge_nfq

#endif  // ZHUGE_NFQ_PARSE_H_
