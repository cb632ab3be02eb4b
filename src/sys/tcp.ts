/**
 * Raw TCP sockets through libc, for the moments Node cannot make them itself (inside a setns
 * window). Each returns a CLOEXEC, non-blocking fd that the caller hands to net.Server/net.Socket,
 * which then own it. On failure the fd is closed here and the error says which step failed.
 */
import { bind, close, LINUX, listen, setsockoptInt, socket } from './libc.ts';
import { encodeSockaddr, type IpAddress, type IpFamily } from './inet.ts';

export function tcpSocket(family: IpFamily): number {
  const domain = family === 4 ? LINUX.AF_INET : LINUX.AF_INET6;
  return socket(domain, LINUX.SOCK_STREAM | LINUX.SOCK_CLOEXEC | LINUX.SOCK_NONBLOCK);
}

export interface TcpListenerOptions {
  address: IpAddress;
  port: number;
  backlog: number;
  /** For IPv6: accept only IPv6 (true) or IPv4-mapped too (false, dual stack). Default false. */
  ipv6Only?: boolean;
}

/** socket() + SO_REUSEADDR (+ IPV6_V6ONLY) + bind() + listen(). */
export function tcpListener(options: TcpListenerOptions): number {
  const sockaddr = encodeSockaddr(options.address, options.port); // validates before we own an fd
  const fd = tcpSocket(options.address.family);
  try {
    setsockoptInt(fd, LINUX.SOL_SOCKET, LINUX.SO_REUSEADDR, 1);
    if (options.address.family === 6) {
      setsockoptInt(fd, LINUX.IPPROTO_IPV6, LINUX.IPV6_V6ONLY, options.ipv6Only === true ? 1 : 0);
    }
    bind(fd, sockaddr);
    listen(fd, options.backlog);
    return fd;
  } catch (err) {
    close(fd);
    throw err;
  }
}
