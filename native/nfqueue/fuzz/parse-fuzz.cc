// Fuzzer for the NFQUEUE binding's receive parser (../src/nfq-parse.h, the code the addon runs),
// built with AddressSanitizer and UndefinedBehaviorSanitizer (scripts/native-fuzz.sh):
//
//   parse-fuzz ITERATIONS SEED
//
// Each iteration builds a datagram of 1-4 netlink messages the way the kernel does (packet
// messages with a random subset of attributes in random order, payloads of 0-300 bytes, acks and
// errors), then, in 7 of 8 iterations, mutates it (bit flips, cuts, 16-bit fields set to extreme
// values, bytes inserted or removed), copies it into a heap block of exactly its length (so that a
// read one byte past the end is an ASan report) and parses it. Checked:
//   - no sanitizer report (the process aborts with a non-zero status on the first one);
//   - every payload the parser hands out lies inside the datagram;
//   - an unmutated datagram parses back to exactly what was built (ids, payload lengths, errors):
//     the parser is not trivially rejecting everything.
// Prints one summary line; exits 1 on any violation.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "../src/nfq-parse.h"

namespace {

struct Built {
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> ids;          // packet ids, in order
  std::vector<size_t> payloadLens;    // their payload lengths
  std::vector<int> errors;            // NLMSG_ERROR codes, in order
};

void PutAttr(std::vector<uint8_t>& b, uint16_t type, const uint8_t* data, size_t len) {
  nlattr a;
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  a.nla_type = type;
  size_t at = b.size();
  b.resize(at + NLA_ALIGN(NLA_HDRLEN + len), 0);
  memcpy(&b[at], &a, sizeof(a));
  if (len > 0) memcpy(&b[at + NLA_HDRLEN], data, len);
}

void PutBe32(uint8_t* p, uint32_t v) {
  v = htonl(v);
  memcpy(p, &v, 4);
}

void PacketMessage(std::mt19937_64& rng, Built& out) {
  std::vector<uint8_t> body(NLMSG_ALIGN(sizeof(nfgenmsg)), 0);
  uint32_t id = static_cast<uint32_t>(rng());
  size_t payloadLen = rng() % 301;
  // the attributes, shuffled; the packet header always present so that the message counts
  std::vector<int> kinds = {NFQA_PACKET_HDR, NFQA_MARK, NFQA_IFINDEX_INDEV, NFQA_IFINDEX_OUTDEV, NFQA_TIMESTAMP, NFQA_CAP_LEN, NFQA_HWADDR, NFQA_PAYLOAD};
  std::shuffle(kinds.begin(), kinds.end(), rng);
  uint8_t buf[16];
  for (int k : kinds) {
    if (k != NFQA_PACKET_HDR && k != NFQA_PAYLOAD && rng() % 2 == 0) continue;
    switch (k) {
      case NFQA_PACKET_HDR:
        PutBe32(buf, id);
        buf[4] = 0x08;
        buf[5] = 0x00;
        buf[6] = static_cast<uint8_t>(rng() % 5);
        PutAttr(body, NFQA_PACKET_HDR, buf, 7);
        break;
      case NFQA_TIMESTAMP:
        for (auto& x : buf) x = static_cast<uint8_t>(rng());
        PutAttr(body, NFQA_TIMESTAMP, buf, 16);
        break;
      case NFQA_HWADDR:
        memset(buf, 0, sizeof(buf));
        buf[1] = 6;
        for (int i = 4; i < 10; i++) buf[i] = static_cast<uint8_t>(rng());
        PutAttr(body, NFQA_HWADDR, buf, 12);
        break;
      case NFQA_PAYLOAD: {
        std::vector<uint8_t> pl(payloadLen);
        for (auto& x : pl) x = static_cast<uint8_t>(rng());
        PutAttr(body, NFQA_PAYLOAD, pl.data(), pl.size());
        break;
      }
      default:
        PutBe32(buf, static_cast<uint32_t>(rng()));
        PutAttr(body, static_cast<uint16_t>(k), buf, 4);
    }
  }
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + body.size());
  h.nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET;
  h.nlmsg_seq = static_cast<uint32_t>(rng());
  size_t at = out.bytes.size();
  out.bytes.resize(at + NLMSG_ALIGN(h.nlmsg_len), 0);
  memcpy(&out.bytes[at], &h, sizeof(h));
  memcpy(&out.bytes[at + NLMSG_HDRLEN], body.data(), body.size());
  out.ids.push_back(id);
  out.payloadLens.push_back(payloadLen);
}

void ErrorMessage(std::mt19937_64& rng, Built& out) {
  nlmsghdr h{};
  h.nlmsg_len = NLMSG_LENGTH(sizeof(nlmsgerr));
  h.nlmsg_type = NLMSG_ERROR;
  h.nlmsg_seq = static_cast<uint32_t>(rng());
  nlmsgerr e{};
  e.error = rng() % 2 == 0 ? 0 : -static_cast<int>(1 + rng() % 120);
  size_t at = out.bytes.size();
  out.bytes.resize(at + NLMSG_ALIGN(h.nlmsg_len), 0);
  memcpy(&out.bytes[at], &h, sizeof(h));
  memcpy(&out.bytes[at + NLMSG_HDRLEN], &e, sizeof(e));
  out.errors.push_back(e.error);
}

void Mutate(std::mt19937_64& rng, std::vector<uint8_t>& b) {
  int n = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < n && !b.empty(); i++) {
    size_t at = rng() % b.size();
    switch (rng() % 6) {
      case 0:  // bit flips
        b[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // cut
        b.resize(at);
        break;
      case 2: {  // a 16-bit field (a length, a type) set to an extreme
        static const uint16_t extremes[] = {0, 1, 3, 4, 5, 0x7fff, 0x8000, 0xffff};
        uint16_t v = rng() % 2 == 0 ? extremes[rng() % 8] : static_cast<uint16_t>(rng());
        if (at + 2 <= b.size()) memcpy(&b[at], &v, 2);
        break;
      }
      case 3: {  // a 32-bit field (a message length) set to an extreme
        static const uint32_t extremes[] = {0, 15, 16, 17, 20, 0x7fffffff, 0xffffffff};
        uint32_t v = extremes[rng() % 7];
        if (at + 4 <= b.size()) memcpy(&b[at], &v, 4);
        break;
      }
      case 4:  // bytes inserted
        b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), 1 + rng() % 8, static_cast<uint8_t>(rng()));
        break;
      default:  // bytes removed
        b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(std::min(b.size(), at + 1 + rng() % 8)));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned long long iterations = argc > 1 ? strtoull(argv[1], nullptr, 10) : 100000;
  const unsigned long long seed = argc > 2 ? strtoull(argv[2], nullptr, 10) : 1;
  std::mt19937_64 rng(seed);
  unsigned long long packets = 0, errors = 0, bytes = 0, outOfBounds = 0, roundtrips = 0, mismatches = 0;
  for (unsigned long long it = 0; it < iterations; it++) {
    Built built;
    int messages = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < messages; i++) {
      if (rng() % 4 == 0) ErrorMessage(rng, built);
      else PacketMessage(rng, built);
    }
    const bool mutated = rng() % 8 != 0;
    if (mutated) Mutate(rng, built.bytes);
    const size_t len = built.bytes.size();
    // exactly len bytes on the heap: one byte past the end is outside the block
    std::unique_ptr<uint8_t[]> block(new uint8_t[len == 0 ? 1 : len]);
    if (len > 0) memcpy(block.get(), built.bytes.data(), len);
    const uint8_t* buf = block.get();
    std::vector<uint32_t> ids;
    std::vector<size_t> payloadLens;
    std::vector<int> errs;
    zhuge_nfq::ParseDatagram(
        buf, len,
        [&](const zhuge_nfq::PacketMeta& m) {
          packets++;
          if (m.payload != nullptr && (m.payload < buf || m.payload + m.payloadLen > buf + len)) outOfBounds++;
          ids.push_back(static_cast<uint32_t>(m.id));
          payloadLens.push_back(m.payload != nullptr ? m.payloadLen : 0);
        },
        [&](uint32_t, int error) {
          errors++;
          errs.push_back(error);
        });
    bytes += len;
    if (!mutated) {
      roundtrips++;
      if (ids != built.ids || payloadLens != built.payloadLens || errs != built.errors) mismatches++;
    }
  }
  printf("nfq-parse fuzz: seed %llu, %llu datagrams (%llu bytes), %llu packets and %llu acks/errors parsed; unmutated roundtrips %llu, mismatches %llu; payloads out of bounds %llu\n",
         seed, iterations, bytes, packets, errors, roundtrips, mismatches, outOfBounds);
  return mismatches == 0 && outOfBounds == 0 && roundtrips > 0 ? 0 : 1;
}
