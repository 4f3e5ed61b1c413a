// zhuge raw IP sender: N-API over socket(AF_INET, SOCK_RAW, IPPROTO_RAW) (IP_HDRINCL implied) and
// socket(AF_INET6, SOCK_RAW, IPPROTO_RAW) (IPV6_HDRINCL implied by IPPROTO_RAW, also set
// explicitly). The caller hands complete IP packets (header included, checksums computed; the
// kernel fills the IPv4 header checksum and a zero IP ID anyway) and the destination address as
// text. Used to inject the feedback packets zhuge builds (TWCC / RFC 8888) as if the Wi-Fi client
// had sent them.
//
// JS side: new RawSocket(family: 4 | 6, netns?: string)
//            .send(packet: Uint8Array, dstAddr: string): number   (bytes sent)
//            .close(): void                                       (idempotent)
//            .fd: number                                          (-1 once closed)
// `netns` (a name under /var/run/netns, or a path): the socket is created in that network
// namespace (setns there and back on the calling thread); it stays bound to it afterwards.
// Errors are JS exceptions with errno text, never aborts. Needs CAP_NET_RAW.

#include <napi.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

namespace {

std::string ErrnoText(const char* what, int err) {
  return std::string(what) + ": " + strerror(err) + " (errno " + std::to_string(err) + ")";
}

class RawSocket : public Napi::ObjectWrap<RawSocket> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "RawSocket",
                       {InstanceMethod("send", &RawSocket::Send), InstanceMethod("close", &RawSocket::Close),
                        InstanceAccessor("fd", &RawSocket::GetFd, nullptr)});
  }

  explicit RawSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RawSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "RawSocket(family: 4 | 6, netns?: string)").ThrowAsJavaScriptException();
      return;
    }
    int fam = info[0].As<Napi::Number>().Int32Value();
    if (fam != 4 && fam != 6) {
      Napi::RangeError::New(env, "RawSocket: family must be 4 or 6").ThrowAsJavaScriptException();
      return;
    }
    family_ = fam == 4 ? AF_INET : AF_INET6;
    std::string netns;
    if (info.Length() >= 2 && info[1].IsString()) netns = info[1].As<Napi::String>().Utf8Value();

    int selfNs = -1;
    if (!netns.empty()) {
      std::string path = netns.find('/') == std::string::npos ? "/var/run/netns/" + netns : netns;
      int nsFd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (nsFd < 0) {
        Napi::Error::New(env, ErrnoText(("open " + path).c_str(), errno)).ThrowAsJavaScriptException();
        return;
      }
      selfNs = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
      if (selfNs < 0) selfNs = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
      if (selfNs < 0 || setns(nsFd, CLONE_NEWNET) != 0) {
        int e = errno;
        close(nsFd);
        if (selfNs >= 0) close(selfNs);
        Napi::Error::New(env, ErrnoText("setns", e)).ThrowAsJavaScriptException();
        return;
      }
      close(nsFd);
    }
    fd_ = socket(family_, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    int sockErr = errno;
    if (selfNs >= 0) {
      if (setns(selfNs, CLONE_NEWNET) != 0) {
        int e = errno;
        close(selfNs);
        if (fd_ >= 0) close(fd_);
        fd_ = -1;
        Napi::Error::New(env, ErrnoText("setns back", e)).ThrowAsJavaScriptException();
        return;
      }
      close(selfNs);
    }
    if (fd_ < 0) {
      Napi::Error::New(env, ErrnoText("socket(SOCK_RAW, IPPROTO_RAW)", sockErr)).ThrowAsJavaScriptException();
      return;
    }
    int one = 1;
    if (family_ == AF_INET6) {
      // implied by IPPROTO_RAW on Linux; explicit for clarity (an old kernel may refuse it: ignore)
      (void)setsockopt(fd_, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof one);
    } else {
      (void)setsockopt(fd_, IPPROTO_IP, IP_HDRINCL, &one, sizeof one);
    }
  }

  ~RawSocket() override {
    if (fd_ >= 0) close(fd_);
  }

 private:
  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0) {
      Napi::Error::New(env, "RawSocket: closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsString()) {
      Napi::TypeError::New(env, "send(packet: Uint8Array, dstAddr: string)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::TypedArray ta = info[0].As<Napi::TypedArray>();
    if (ta.TypedArrayType() != napi_uint8_array) {
      Napi::TypeError::New(env, "send: packet must be a Uint8Array").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Uint8Array pkt = info[0].As<Napi::Uint8Array>();
    std::string dst = info[1].As<Napi::String>().Utf8Value();
    sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t slen;
    if (family_ == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
      sin->sin_family = AF_INET;
      if (inet_pton(AF_INET, dst.c_str(), &sin->sin_addr) != 1) {
        Napi::TypeError::New(env, "send: bad IPv4 address '" + dst + "'").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      slen = sizeof(sockaddr_in);
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
      sin6->sin6_family = AF_INET6;
      if (inet_pton(AF_INET6, dst.c_str(), &sin6->sin6_addr) != 1) {
        Napi::TypeError::New(env, "send: bad IPv6 address '" + dst + "'").ThrowAsJavaScriptException();
        return env.Undefined();
      }
      slen = sizeof(sockaddr_in6);
    }
    ssize_t n;
    do {
      n = sendto(fd_, pkt.Data(), pkt.ByteLength(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&ss), slen);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      Napi::Error::New(env, ErrnoText("sendto", errno)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Napi::Number::New(env, static_cast<double>(n));
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (fd_ >= 0) {
      close(fd_);
      fd_ = -1;
    }
    return info.Env().Undefined();
  }

  Napi::Value GetFd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

  int family_ = AF_INET;
  int fd_ = -1;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("RawSocket", RawSocket::Init(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(zhuge_rawsock, Init)
