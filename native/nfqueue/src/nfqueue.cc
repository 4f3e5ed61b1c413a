// zhuge NFQUEUE binding: N-API over a raw AF_NETLINK/NETLINK_NETFILTER socket.
//
// Written against the kernel uapi headers only (no libnetfilter_queue, no libmnl), MIT like the
// rest of zhuge. What the npm `nfqueue` binding lacks and this one has:
//   - NFQA_CFG_F_FAIL_OPEN (kernel accepts packets when our queue / socket is full) + F_GSO,
//   - NFQA_CFG_QUEUE_MAXLEN (default 4096; the kernel default 1024 overflowed at 20k pkt/s),
//   - copy mode packet with a copy range, SO_RCVBUFFORCE, ENOBUFS counted (never fatal),
//   - libuv integration: uv_poll on the netlink fd, every wakeup drains the socket with
//     recvmmsg and hands ONE batch to JS (meta Float64Array + one payload Buffer),
//   - verdicts (accept, accept with replacement payload, drop) are appended to a buffer and sent
//     as many netlink messages in one sendmsg: at the end of each batch delivery, on flush() and
//     on close(),
//   - close() flushes, accepts every packet still held (one NFQNL_MSG_VERDICT_BATCH up to the
//     last id received: fail open), unbinds, stops polling and releases the fd; calling it twice is harmless;
//     errors are JS exceptions with errno text, never aborts.
//
// JS side: new NfQueueHandle({queueNum, maxLen, failOpen, copyBytes, rcvBufBytes},
//                             (meta: Float64Array, data: Buffer) => void)
// meta holds META_FIELDS doubles per packet (see enum MetaField); payload i is
// data[meta[off] .. meta[off] + meta[len]).

#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "nfq-parse.h"

namespace {

enum MetaField {
  kMetaId = 0,
  kMetaHwProtocol,
  kMetaHook,
  kMetaIndev,
  kMetaOutdev,
  kMetaMark,
  kMetaTsUs,  // NaN when the kernel gave no NFQA_TIMESTAMP
  kMetaOffset,
  kMetaLength,
  kMetaOrigLength,  // NFQA_CAP_LEN when the payload was truncated by the copy range, else = length
  kMetaHwAddr,      // NFQA_HWADDR: the sender's 6-byte link-layer address as a number (0: none)
  kMetaFields
};

constexpr size_t kSendFlushBytes = 64 * 1024;  // flush the verdict buffer before it grows past this
// verdicts a failed sendmsg leaves are kept and sent with the next ones, up to this much; beyond
// it they are counted lost (verdictsLost): the packets stay held in the kernel until close(),
// which accepts everything up to the last id received (the daemon stops on either counter)
constexpr size_t kMaxUnsentBytes = 1024 * 1024;
constexpr size_t kMaxPacketsPerWakeup = 16384;  // level-triggered poll re-fires for the rest
constexpr size_t kMaxBatchBytes = 16 * 1024 * 1024;  // ... and so it does past this many payload bytes

std::string ErrnoText(const std::string& what, int err) {
  return what + ": " + strerror(err) + " (errno " + std::to_string(err) + ")";
}

// Appends one netlink message (nlmsghdr + nfgenmsg + attributes) to a byte vector.
class NlMsg {
 public:
  NlMsg(std::vector<uint8_t>& buf, uint8_t msgType, uint16_t flags, uint32_t seq, uint16_t queueNum)
      : buf_(buf), start_(buf.size()) {
    buf_.resize(start_ + NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)), 0);
    auto* nlh = reinterpret_cast<nlmsghdr*>(buf_.data() + start_);
    nlh->nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_QUEUE << 8) | msgType);
    nlh->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
    nlh->nlmsg_seq = seq;
    nlh->nlmsg_pid = 0;
    auto* nfg = reinterpret_cast<nfgenmsg*>(buf_.data() + start_ + NLMSG_HDRLEN);
    nfg->nfgen_family = AF_UNSPEC;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(queueNum);
  }
  void Attr(uint16_t type, const void* data, size_t len) {
    size_t at = buf_.size();
    buf_.resize(at + NLA_ALIGN(NLA_HDRLEN + len), 0);
    auto* nla = reinterpret_cast<nlattr*>(buf_.data() + at);
    nla->nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
    nla->nla_type = type;
    if (len > 0) memcpy(buf_.data() + at + NLA_HDRLEN, data, len);
  }
  void AttrU32(uint16_t type, uint32_t hostValue) {
    uint32_t be = htonl(hostValue);
    Attr(type, &be, sizeof(be));
  }
  void End() {
    auto* nlh = reinterpret_cast<nlmsghdr*>(buf_.data() + start_);
    nlh->nlmsg_len = static_cast<uint32_t>(buf_.size() - start_);
  }

 private:
  std::vector<uint8_t>& buf_;
  size_t start_;
};

size_t VerdictMsgSize(size_t payloadLen, bool withPayload) {
  size_t n = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)) + NLA_ALIGN(NLA_HDRLEN + sizeof(nfqnl_msg_verdict_hdr));
  if (withPayload) n += NLA_ALIGN(NLA_HDRLEN + payloadLen);
  return n;
}

// Runs fn() with the calling thread switched into the network namespace `ns` (a name under
// /var/run/netns or an absolute path); a socket created meanwhile stays in that namespace.
// Returns "" or an error text.
template <typename Fn>
std::string InNetns(const std::string& ns, Fn fn) {
  if (ns.empty()) {
    fn();
    return "";
  }
  std::string path = ns[0] == '/' ? ns : "/var/run/netns/" + ns;
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return ErrnoText("open /proc/thread-self/ns/net", errno);
  int target = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) {
    int e = errno;
    ::close(self);
    return ErrnoText("open netns " + path, e);
  }
  if (setns(target, CLONE_NEWNET) < 0) {
    int e = errno;
    ::close(self);
    ::close(target);
    return ErrnoText("setns " + path, e);
  }
  fn();
  int rc = setns(self, CLONE_NEWNET);
  int e = errno;
  ::close(self);
  ::close(target);
  if (rc < 0) return ErrnoText("setns back to the original netns", e);
  return "";
}

// readFileInNetns(ns, path): reads a (small, /proc) file as seen from another netns.
Napi::Value ReadFileInNetns(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    Napi::TypeError::New(env, "readFileInNetns(ns, path)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string ns = info[0].As<Napi::String>().Utf8Value();
  std::string path = info[1].As<Napi::String>().Utf8Value();
  std::string out;
  int err = 0;
  std::string nsErr = InNetns(ns, [&]() {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      err = errno;
      return;
    }
    char buf[4096];
    for (;;) {
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      if (out.size() > (1u << 20)) break;
    }
    ::close(fd);
  });
  if (!nsErr.empty()) {
    Napi::Error::New(env, nsErr).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (err != 0) {
    Napi::Error::New(env, ErrnoText("open " + path, err)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return Napi::String::New(env, out);
}

class NfQueueHandle : public Napi::ObjectWrap<NfQueueHandle> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function ctor = DefineClass(env, "NfQueueHandle",
                                      {
                                          InstanceMethod("accept", &NfQueueHandle::Accept),
                                          InstanceMethod("drop", &NfQueueHandle::Drop),
                                          InstanceMethod("flush", &NfQueueHandle::Flush),
                                          InstanceMethod("stats", &NfQueueHandle::Stats),
                                          InstanceMethod("close", &NfQueueHandle::Close),
                                      });
    exports.Set("NfQueueHandle", ctor);
    exports.Set("META_FIELDS", Napi::Number::New(env, kMetaFields));
    exports.Set("readFileInNetns", Napi::Function::New(env, ReadFileInNetns, "readFileInNetns"));
    return exports;
  }

  explicit NfQueueHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NfQueueHandle>(info), env_(info.Env()) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
      Napi::TypeError::New(env, "NfQueueHandle(options, onBatch) expects an object and a function")
          .ThrowAsJavaScriptException();
      return;
    }
    Napi::Object opts = info[0].As<Napi::Object>();
    auto num = [&](const char* key, double dflt) -> double {
      Napi::Value v = opts.Get(key);
      return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : dflt;
    };
    double queueNum = num("queueNum", -1);
    double maxLen = num("maxLen", 4096);
    double copyBytes = num("copyBytes", 0xffff);
    double rcvBuf = num("rcvBufBytes", 8 * 1024 * 1024);
    Napi::Value tsv = opts.Get("kernelTimestamps");
    bool kernelTs = tsv.IsBoolean() ? tsv.As<Napi::Boolean>().Value() : true;
    Napi::Value roc = opts.Get("releaseOnClose");
    releaseOnClose_ = roc.IsBoolean() ? roc.As<Napi::Boolean>().Value() : true;
    Napi::Value fo = opts.Get("failOpen");
    bool failOpen = fo.IsBoolean() ? fo.As<Napi::Boolean>().Value() : true;
    if (!(queueNum >= 0 && queueNum <= 65535 && std::floor(queueNum) == queueNum)) {
      Napi::RangeError::New(env, "queueNum must be an integer in 0..65535").ThrowAsJavaScriptException();
      return;
    }
    if (!(maxLen >= 1 && maxLen <= 4294967295.0) || !(copyBytes >= 0 && copyBytes <= 65535) ||
        !(rcvBuf >= 4096 && rcvBuf <= 1073741824.0)) {
      Napi::RangeError::New(env, "maxLen, copyBytes (0..65535) or rcvBufBytes out of range")
          .ThrowAsJavaScriptException();
      return;
    }
    queueNum_ = static_cast<uint16_t>(queueNum);
    Napi::Value nsv = opts.Get("netns");
    std::string netns = nsv.IsString() ? nsv.As<Napi::String>().Utf8Value() : "";
    cb_ = Napi::Persistent(info[1].As<Napi::Function>());

    std::string err = Open(netns, static_cast<uint32_t>(maxLen), static_cast<uint32_t>(copyBytes),
                           static_cast<int>(rcvBuf), failOpen, kernelTs);
    if (!err.empty()) {
      if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
      }
      Napi::Error::New(env, err).ThrowAsJavaScriptException();
      return;
    }
    poll_ = new uv_poll_t;
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      delete poll_;
      poll_ = nullptr;
      ::close(fd_);
      fd_ = -1;
      Napi::Error::New(env, "napi_get_uv_event_loop failed").ThrowAsJavaScriptException();
      return;
    }
    int rc = uv_poll_init(loop, poll_, fd_);
    if (rc == 0) {
      poll_->data = this;
      rc = uv_poll_start(poll_, UV_READABLE, &NfQueueHandle::OnPoll);
      if (rc != 0) uv_close(reinterpret_cast<uv_handle_t*>(poll_), &FreePoll);
    } else {
      delete poll_;
    }
    if (rc != 0) {
      poll_ = nullptr;
      ::close(fd_);
      fd_ = -1;
      Napi::Error::New(env, std::string("uv_poll: ") + uv_strerror(rc)).ThrowAsJavaScriptException();
      return;
    }
    closed_ = false;
    // An open queue must never be garbage collected (the poll handle points at it).
    Ref();
    refd_ = true;
    napi_add_env_cleanup_hook(env, &NfQueueHandle::EnvCleanup, this);
    hookAdded_ = true;
  }

  ~NfQueueHandle() override { Shutdown(false); }

 private:
  // ---- setup ---------------------------------------------------------------------------
  std::string Open(const std::string& netns, uint32_t maxLen, uint32_t copyBytes, int rcvBuf, bool failOpen,
                   bool kernelTs) {
    int sockErr = 0;
    std::string nsErr = InNetns(netns, [&]() {
      fd_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
      if (fd_ < 0) sockErr = errno;
    });
    if (!nsErr.empty()) return nsErr;
    if (fd_ < 0) return ErrnoText("socket(AF_NETLINK, NETLINK_NETFILTER)", sockErr);
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0) return ErrnoText("bind netlink", errno);
    if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvBuf, sizeof(rcvBuf)) < 0) {
      // not CAP_NET_ADMIN: best effort within net.core.rmem_max
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvBuf, sizeof(rcvBuf));
    }
    int sndBuf = 1024 * 1024;
    if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &sndBuf, sizeof(sndBuf)) < 0) {
      setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndBuf, sizeof(sndBuf));
    }
    if (kernelTs) {
      // SO_TIMESTAMP on any socket turns on the kernel's global receive timestamping
      // (net_enable_timestamp): forwarded packets then carry skb->tstamp, i.e. NFQA_TIMESTAMP.
      int one = 1;
      setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof(one));
    }
    timeval tv{2, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));

    // receive buffers for recvmmsg: copy range + room for the other attributes
    bufSize_ = static_cast<size_t>(copyBytes) + 4096;
    nbufs_ = bufSize_ > 16384 ? 16 : 64;
    rbuf_.assign(bufSize_ * nbufs_, 0);
    iov_.resize(nbufs_);
    msgs_.resize(nbufs_);
    for (size_t i = 0; i < nbufs_; i++) {
      iov_[i].iov_base = rbuf_.data() + i * bufSize_;
      iov_[i].iov_len = bufSize_;
      memset(&msgs_[i], 0, sizeof(mmsghdr));
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
    }

    // One config message: bind + params + maxlen + flags, applied by the kernel in one call.
    std::vector<uint8_t> msg;
    uint32_t seq = ++seq_;
    NlMsg m(msg, NFQNL_MSG_CONFIG, NLM_F_ACK, seq, queueNum_);
    nfqnl_msg_config_cmd cmd{};
    cmd.command = NFQNL_CFG_CMD_BIND;
    cmd.pf = htons(AF_UNSPEC);
    m.Attr(NFQA_CFG_CMD, &cmd, sizeof(cmd));
    nfqnl_msg_config_params params{};
    params.copy_range = htonl(copyBytes);
    params.copy_mode = NFQNL_COPY_PACKET;
    m.Attr(NFQA_CFG_PARAMS, &params, sizeof(params));
    m.AttrU32(NFQA_CFG_QUEUE_MAXLEN, maxLen);
    uint32_t mask = NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO;
    uint32_t flags = NFQA_CFG_F_GSO | (failOpen ? NFQA_CFG_F_FAIL_OPEN : 0);
    m.AttrU32(NFQA_CFG_FLAGS, flags);
    m.AttrU32(NFQA_CFG_MASK, mask);
    m.End();
    if (send(fd_, msg.data(), msg.size(), 0) < 0) return ErrnoText("send NFQNL_MSG_CONFIG", errno);

    // Wait for the ack. Packets that arrive meanwhile were queued before JS is listening:
    // accept them at once (fail open).
    for (;;) {
      ssize_t n = recv(fd_, rbuf_.data(), bufSize_, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOBUFS) {
          enobufs_++;
          continue;
        }
        return ErrnoText("waiting for the NFQUEUE bind ack", errno);
      }
      int ackErr = 1;  // 1 = no ack for our seq in this datagram
      ParseDatagram(rbuf_.data(), static_cast<size_t>(n), seq, &ackErr, /*acceptNow=*/true);
      if (ackErr == 0) break;
      if (ackErr < 0) {
        int e = -ackErr;
        std::string hint;
        if (e == EPERM) hint = " (queue bound by another process, or not root/CAP_NET_ADMIN)";
        if (e == EBUSY) hint = " (queue already bound by this socket)";
        return ErrnoText("bind NFQUEUE " + std::to_string(queueNum_), e) + hint;
      }
    }
    std::string sendErr = SendVerdicts();
    (void)sendErr;
    timeval zero{0, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &zero, sizeof(zero));
    int fl = fcntl(fd_, F_GETFL, 0);
    if (fl < 0 || fcntl(fd_, F_SETFL, fl | O_NONBLOCK) < 0) return ErrnoText("fcntl O_NONBLOCK", errno);
    return "";
  }

  // ---- receive path ----------------------------------------------------------------------
  // Parses one netlink datagram (nfq-parse.h). Packets go to meta_/data_ (or get an immediate
  // accept when acceptNow); an NLMSG_ERROR for waitSeq sets *ackErr (0 or -errno); other errors
  // are counted.
  void ParseDatagram(const uint8_t* buf, size_t len, uint32_t waitSeq, int* ackErr, bool acceptNow) {
    zhuge_nfq::ParseDatagram(
        buf, len, [&](const zhuge_nfq::PacketMeta& m) { OnPacket(m, acceptNow); },
        [&](uint32_t seq, int error) {
          if (ackErr != nullptr && waitSeq != 0 && seq == waitSeq) {
            *ackErr = error;
          } else if (error != 0) {
            verdictErrors_++;
            lastVerdictErrno_ = -error;
          }
        });
  }

  void OnPacket(const zhuge_nfq::PacketMeta& p, bool acceptNow) {
    received_++;
    lastId_ = static_cast<uint32_t>(p.id);
    haveLastId_ = true;
    if (acceptNow) {
      AppendVerdict(static_cast<uint32_t>(p.id), NF_ACCEPT, nullptr, 0, false);
      return;
    }
    size_t off = data_.size();
    if (p.payloadLen > 0) data_.insert(data_.end(), p.payload, p.payload + p.payloadLen);
    double m[kMetaFields];
    m[kMetaId] = p.id;
    m[kMetaHwProtocol] = p.hwProtocol;
    m[kMetaHook] = p.hook;
    m[kMetaIndev] = p.indev;
    m[kMetaOutdev] = p.outdev;
    m[kMetaMark] = p.mark;
    m[kMetaTsUs] = p.tsUs;
    m[kMetaOffset] = static_cast<double>(off);
    m[kMetaLength] = static_cast<double>(p.payloadLen);
    m[kMetaOrigLength] = p.capLen >= 0 ? p.capLen : static_cast<double>(p.payloadLen);
    m[kMetaHwAddr] = p.hwAddr;
    meta_.insert(meta_.end(), m, m + kMetaFields);
    batchPackets_++;
  }

  static void OnPoll(uv_poll_t* h, int status, int events) {
    auto* self = static_cast<NfQueueHandle*>(h->data);
    if (self == nullptr || self->closed_) return;
    if (status < 0) {
      // libuv stops a poll handle on POLLERR (reported as UV_EBADF). For netlink that is the
      // socket error set by a receive-buffer overrun (ENOBUFS): consume it, count it, re-arm.
      int soErr = 0;
      socklen_t len = sizeof(soErr);
      if (self->fd_ >= 0 && getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &soErr, &len) == 0 && soErr == ENOBUFS) {
        self->enobufs_++;
      } else {
        self->recvErrors_++;
        self->lastRecvErrno_ = soErr;
      }
      int rc = uv_poll_start(h, UV_READABLE, &NfQueueHandle::OnPoll);
      if (rc != 0) {
        // nothing will be read from this socket any more: say so (stats().pollStopped), the
        // daemon fails open and exits for its supervisor to restart it
        self->recvErrors_++;
        self->pollStopped_ = true;
        self->lastRecvErrno_ = -rc;
        return;
      }
    }
    self->ReadAll();
    self->Deliver();
  }

  void ReadAll() {
    meta_.clear();
    data_.clear();
    batchPackets_ = 0;
    while (!closed_ && batchPackets_ < kMaxPacketsPerWakeup && data_.size() < kMaxBatchBytes) {
      for (size_t i = 0; i < nbufs_; i++) msgs_[i].msg_hdr.msg_flags = 0;
      int n = recvmmsg(fd_, msgs_.data(), static_cast<unsigned>(nbufs_), MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        if (errno == ENOBUFS) {  // the kernel dropped messages for us (fail-open accepted them)
          enobufs_++;
          continue;
        }
        recvErrors_++;
        lastRecvErrno_ = errno;
        break;
      }
      for (int i = 0; i < n; i++) {
        if (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) truncated_++;
        ParseDatagram(rbuf_.data() + static_cast<size_t>(i) * bufSize_, msgs_[i].msg_len, 0, nullptr, false);
      }
      if (n == 0) break;
    }
  }

  void Deliver() {
    Napi::Env env = env_;
    if (batchPackets_ > 0) {
      Napi::HandleScope scope(env);
      size_t count = batchPackets_;
      Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, meta_.size() * sizeof(double));
      memcpy(ab.Data(), meta_.data(), meta_.size() * sizeof(double));
      Napi::Float64Array meta = Napi::Float64Array::New(env, count * kMetaFields, ab, 0);
      Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::Copy(env, data_.data(), data_.size());
      meta_.clear();
      data_.clear();
      batchPackets_ = 0;
      batches_++;
      // keep the wrapper alive across the callback even if it calls close()
      Ref();
      cb_.MakeCallback(Value(), {meta, data}, asyncContext());
      if (!closed_) SendVerdicts();
      Unref();
      if (env.IsExceptionPending()) {
        Napi::Error e = env.GetAndClearPendingException();
        napi_fatal_exception(env, e.Value());
      }
      return;
    }
    if (!closed_) SendVerdicts();
  }

  napi_async_context asyncContext() {
    if (asyncCtx_ == nullptr) {
      Napi::Env env = env_;
      napi_value name = Napi::String::New(env, "zhuge.nfqueue");
      napi_async_init(env, nullptr, name, &asyncCtx_);
    }
    return asyncCtx_;
  }

  // ---- verdicts ----------------------------------------------------------------------------
  void AppendVerdict(uint32_t id, uint32_t verdict, const uint8_t* payload, size_t len, bool withPayload) {
    size_t need = VerdictMsgSize(len, withPayload);
    if (!sendBuf_.empty() && sendBuf_.size() + need > kSendFlushBytes) SendVerdicts();
    NlMsg m(sendBuf_, NFQNL_MSG_VERDICT, 0, ++seq_, queueNum_);
    nfqnl_msg_verdict_hdr vh{};
    vh.verdict = htonl(verdict);
    vh.id = htonl(id);
    m.Attr(NFQA_VERDICT_HDR, &vh, sizeof(vh));
    if (withPayload) m.Attr(NFQA_PAYLOAD, payload, len);
    m.End();
    pendingVerdicts_++;
  }

  // Sends the buffered verdicts in one sendmsg. Returns "" or an error text.
  std::string SendVerdicts() {
    if (sendBuf_.empty() || fd_ < 0) return "";
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    iovec iov{sendBuf_.data(), sendBuf_.size()};
    msghdr mh{};
    mh.msg_name = &kernel;
    mh.msg_namelen = sizeof(kernel);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t rc;
    int tries = 0;
    do {
      rc = sendmsg(fd_, &mh, 0);
    } while (rc < 0 && (errno == EINTR || ((errno == EAGAIN || errno == ENOBUFS) && ++tries < 3)));
    std::string err;
    if (rc < 0) {
      sendErrors_++;
      lastSendErrno_ = errno;
      err = ErrnoText("sendmsg verdicts", errno);
      // kept for the next send (a netlink datagram goes whole or not at all), within a bound
      if (sendBuf_.size() <= kMaxUnsentBytes) return err;
      verdictsLost_ += pendingVerdicts_;
    } else {
      verdicts_ += pendingVerdicts_;
      sendmsgs_++;
    }
    sendBuf_.clear();
    pendingVerdicts_ = 0;
    return err;
  }

  bool CheckOpen(const Napi::CallbackInfo& info) {
    if (closed_) {
      Napi::Error::New(info.Env(), "NFQUEUE handle is closed").ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  bool ReadId(const Napi::CallbackInfo& info, uint32_t* id) {
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(info.Env(), "packet id must be a number").ThrowAsJavaScriptException();
      return false;
    }
    double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d <= 4294967295.0)) {
      Napi::RangeError::New(info.Env(), "packet id out of range").ThrowAsJavaScriptException();
      return false;
    }
    *id = static_cast<uint32_t>(d);
    return true;
  }

  Napi::Value Accept(const Napi::CallbackInfo& info) {
    if (!CheckOpen(info)) return info.Env().Undefined();
    uint32_t id;
    if (!ReadId(info, &id)) return info.Env().Undefined();
    if (info.Length() >= 2 && !info[1].IsUndefined()) {
      if (!info[1].IsTypedArray()) {
        Napi::TypeError::New(info.Env(), "payload must be a Uint8Array/Buffer").ThrowAsJavaScriptException();
        return info.Env().Undefined();
      }
      Napi::TypedArray ta = info[1].As<Napi::TypedArray>();
      if (ta.TypedArrayType() != napi_uint8_array) {
        Napi::TypeError::New(info.Env(), "payload must be a Uint8Array/Buffer").ThrowAsJavaScriptException();
        return info.Env().Undefined();
      }
      Napi::Uint8Array u8 = info[1].As<Napi::Uint8Array>();
      if (u8.ByteLength() > 65535) {
        Napi::RangeError::New(info.Env(), "payload longer than 65535 bytes").ThrowAsJavaScriptException();
        return info.Env().Undefined();
      }
      AppendVerdict(id, NF_ACCEPT, u8.Data(), u8.ByteLength(), true);
    } else {
      AppendVerdict(id, NF_ACCEPT, nullptr, 0, false);
    }
    return info.Env().Undefined();
  }

  Napi::Value Drop(const Napi::CallbackInfo& info) {
    if (!CheckOpen(info)) return info.Env().Undefined();
    uint32_t id;
    if (!ReadId(info, &id)) return info.Env().Undefined();
    AppendVerdict(id, NF_DROP, nullptr, 0, false);
    return info.Env().Undefined();
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    if (closed_) return info.Env().Undefined();
    std::string err = SendVerdicts();
    if (!err.empty()) Napi::Error::New(info.Env(), err).ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    o.Set("receivedPackets", Napi::Number::New(env, static_cast<double>(received_)));
    o.Set("verdicts", Napi::Number::New(env, static_cast<double>(verdicts_)));
    o.Set("pendingVerdicts", Napi::Number::New(env, static_cast<double>(pendingVerdicts_)));
    o.Set("enobufs", Napi::Number::New(env, static_cast<double>(enobufs_)));
    o.Set("batches", Napi::Number::New(env, static_cast<double>(batches_)));
    o.Set("sendmsgs", Napi::Number::New(env, static_cast<double>(sendmsgs_)));
    o.Set("verdictErrors", Napi::Number::New(env, static_cast<double>(verdictErrors_)));
    o.Set("lastVerdictErrno", Napi::Number::New(env, lastVerdictErrno_));
    o.Set("sendErrors", Napi::Number::New(env, static_cast<double>(sendErrors_)));
    o.Set("recvErrors", Napi::Number::New(env, static_cast<double>(recvErrors_)));
    o.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_)));
    o.Set("verdictsLost", Napi::Number::New(env, static_cast<double>(verdictsLost_)));
    o.Set("lastSendErrno", Napi::Number::New(env, lastSendErrno_));
    o.Set("lastRecvErrno", Napi::Number::New(env, lastRecvErrno_));
    o.Set("pollStopped", Napi::Boolean::New(env, pollStopped_));
    o.Set("closed", Napi::Boolean::New(env, closed_));
    return o;
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Shutdown(true);
    return info.Env().Undefined();
  }

  // ---- teardown ----------------------------------------------------------------------------
  static void FreePoll(uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); }

  static void EnvCleanup(void* arg) {
    auto* self = static_cast<NfQueueHandle*>(arg);
    self->hookAdded_ = false;
    self->Shutdown(false);
  }

  // fromJs: called from JS (may touch references); otherwise from a finalizer / env cleanup.
  void Shutdown(bool fromJs) {
    if (!closed_) {
      closed_ = true;
      if (fd_ >= 0) {
        SendVerdicts();
        if (haveLastId_ && releaseOnClose_) {
          // fail open: accept every packet still held (ids up to the last one we received)
          NlMsg vb(sendBuf_, NFQNL_MSG_VERDICT_BATCH, 0, ++seq_, queueNum_);
          nfqnl_msg_verdict_hdr vh{};
          vh.verdict = htonl(NF_ACCEPT);
          vh.id = htonl(lastId_);
          vb.Attr(NFQA_VERDICT_HDR, &vh, sizeof(vh));
          vb.End();
          SendVerdicts();
        }
        std::vector<uint8_t> msg;
        NlMsg m(msg, NFQNL_MSG_CONFIG, 0, ++seq_, queueNum_);
        nfqnl_msg_config_cmd cmd{};
        cmd.command = NFQNL_CFG_CMD_UNBIND;
        m.Attr(NFQA_CFG_CMD, &cmd, sizeof(cmd));
        m.End();
        send(fd_, msg.data(), msg.size(), MSG_DONTWAIT);  // closing the socket unbinds anyway
      }
      if (poll_ != nullptr) {
        uv_poll_stop(poll_);
        poll_->data = nullptr;
        uv_close(reinterpret_cast<uv_handle_t*>(poll_), &FreePoll);
        poll_ = nullptr;
      }
      if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
      }
      rbuf_.clear();
      rbuf_.shrink_to_fit();
    }
    if (fromJs) {
      if (hookAdded_) {
        napi_remove_env_cleanup_hook(env_, &NfQueueHandle::EnvCleanup, this);
        hookAdded_ = false;
      }
      if (asyncCtx_ != nullptr) {
        napi_async_destroy(env_, asyncCtx_);
        asyncCtx_ = nullptr;
      }
      if (refd_) {
        refd_ = false;
        Unref();
      }
    }
  }

  napi_env env_;
  napi_async_context asyncCtx_ = nullptr;
  Napi::FunctionReference cb_;
  uint16_t queueNum_ = 0;
  int fd_ = -1;
  bool closed_ = true;
  bool refd_ = false;
  bool hookAdded_ = false;
  uv_poll_t* poll_ = nullptr;
  uint32_t seq_ = 0;
  uint32_t lastId_ = 0;
  bool haveLastId_ = false;
  bool releaseOnClose_ = true;

  size_t bufSize_ = 0;
  size_t nbufs_ = 0;
  std::vector<uint8_t> rbuf_;
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;

  std::vector<double> meta_;
  std::vector<uint8_t> data_;
  size_t batchPackets_ = 0;

  std::vector<uint8_t> sendBuf_;
  uint64_t pendingVerdicts_ = 0;

  uint64_t received_ = 0, verdicts_ = 0, enobufs_ = 0, batches_ = 0, sendmsgs_ = 0;
  uint64_t verdictErrors_ = 0, sendErrors_ = 0, recvErrors_ = 0, truncated_ = 0, verdictsLost_ = 0;
  bool pollStopped_ = false;
  int lastVerdictErrno_ = 0, lastSendErrno_ = 0, lastRecvErrno_ = 0;
};

Napi::Object InitAll(Napi::Env env, Napi::Object exports) { return NfQueueHandle::Init(env, exports); }

}  // namespace

NODE_API_MODULE(zhuge_nfqueue, InitAll)
