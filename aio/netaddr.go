//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package aio

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"golang.org/x/sys/unix"
)

// sockTarget is one resolved address to bind or connect to.
type sockTarget struct {
	family, sotype int
	sa             unix.Sockaddr
}

// netKind describes a network name of the net package.
type netKind struct {
	sotype   int
	family   int // 0: either IPv4 or IPv6
	isUnix   bool
	stream   bool
	ipFamily string // "ip", "ip4" or "ip6"
}

func parseNetwork(network string) (netKind, error) {
	switch network {
	case "tcp":
		return netKind{sotype: unix.SOCK_STREAM, stream: true, ipFamily: "ip"}, nil
	case "tcp4":
		return netKind{sotype: unix.SOCK_STREAM, family: unix.AF_INET, stream: true, ipFamily: "ip4"}, nil
	case "tcp6":
		return netKind{sotype: unix.SOCK_STREAM, family: unix.AF_INET6, stream: true, ipFamily: "ip6"}, nil
	case "udp":
		return netKind{sotype: unix.SOCK_DGRAM, ipFamily: "ip"}, nil
	case "udp4":
		return netKind{sotype: unix.SOCK_DGRAM, family: unix.AF_INET, ipFamily: "ip4"}, nil
	case "udp6":
		return netKind{sotype: unix.SOCK_DGRAM, family: unix.AF_INET6, ipFamily: "ip6"}, nil
	case "unix":
		return netKind{sotype: unix.SOCK_STREAM, family: unix.AF_UNIX, isUnix: true, stream: true}, nil
	case "unixgram":
		return netKind{sotype: unix.SOCK_DGRAM, family: unix.AF_UNIX, isUnix: true}, nil
	}
	return netKind{}, fmt.Errorf("aio: unknown network %q (want tcp, tcp4, tcp6, udp, udp4, udp6, unix or unixgram)", network)
}

// resolve turns address into the socket addresses to try, in order. A
// host name other than localhost is looked up in the loop's default
// executor (the lookup may block), so it needs a task; IP literals and
// localhost never wait. passive: an empty host means every local
// address (for a listener) rather than the local system.
func resolve(ctx context.Context, network, address string, passive bool) (netKind, []sockTarget, error) {
	k, err := parseNetwork(network)
	if err != nil {
		return k, nil, err
	}
	if k.isUnix {
		if address == "" {
			return k, nil, fmt.Errorf("aio: %s needs a socket path", network)
		}
		return k, []sockTarget{{family: unix.AF_UNIX, sotype: k.sotype, sa: &unix.SockaddrUnix{Name: address}}}, nil
	}
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return k, nil, fmt.Errorf("aio: address %q: %w", address, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		p, lerr := net.LookupPort(network, portStr)
		if lerr != nil {
			return k, nil, fmt.Errorf("aio: address %q: unknown port: %w", address, lerr)
		}
		port = p
	}
	if port < 0 || port > 65535 {
		return k, nil, fmt.Errorf("aio: address %q: port out of range", address)
	}
	var ips []netip.Addr
	switch {
	case host == "":
		if passive {
			if k.family == unix.AF_INET {
				ips = []netip.Addr{netip.IPv4Unspecified()}
			} else {
				ips = []netip.Addr{netip.IPv6Unspecified()}
				if k.family == 0 {
					ips = append(ips, netip.IPv4Unspecified())
				}
			}
		} else {
			ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
		}
	case host == "localhost":
		ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	default:
		if ip, err := netip.ParseAddr(host); err == nil {
			ips = []netip.Addr{ip.WithZone("")}
		} else {
			found, err := ToThread(ctx, func(ctx context.Context) ([]net.IPAddr, error) {
				return net.DefaultResolver.LookupIPAddr(ctx, host)
			})
			if err != nil {
				return k, nil, fmt.Errorf("aio: looking up %q: %w", host, err)
			}
			for _, a := range found {
				if ip, ok := netip.AddrFromSlice(a.IP); ok {
					ips = append(ips, ip.Unmap())
				}
			}
		}
	}
	var out []sockTarget
	for _, ip := range ips {
		ip = ip.Unmap()
		switch {
		case ip.Is4() && k.family != unix.AF_INET6:
			out = append(out, sockTarget{family: unix.AF_INET, sotype: k.sotype, sa: &unix.SockaddrInet4{Port: port, Addr: ip.As4()}})
		case ip.Is6() && k.family != unix.AF_INET:
			out = append(out, sockTarget{family: unix.AF_INET6, sotype: k.sotype, sa: &unix.SockaddrInet6{Port: port, Addr: ip.As16()}})
		}
	}
	if len(out) == 0 {
		return k, nil, fmt.Errorf("aio: address %q: no address of network %s", address, network)
	}
	return k, out, nil
}

// toNetAddr converts a socket address to the net package's form.
func toNetAddr(sotype int, sa unix.Sockaddr) net.Addr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		ip := net.IPv4(a.Addr[0], a.Addr[1], a.Addr[2], a.Addr[3])
		if sotype == unix.SOCK_DGRAM {
			return &net.UDPAddr{IP: ip, Port: a.Port}
		}
		return &net.TCPAddr{IP: ip, Port: a.Port}
	case *unix.SockaddrInet6:
		ip := make(net.IP, 16)
		copy(ip, a.Addr[:])
		zone := ""
		if a.ZoneId != 0 {
			if ifi, err := net.InterfaceByIndex(int(a.ZoneId)); err == nil {
				zone = ifi.Name
			}
		}
		if sotype == unix.SOCK_DGRAM {
			return &net.UDPAddr{IP: ip, Port: a.Port, Zone: zone}
		}
		return &net.TCPAddr{IP: ip, Port: a.Port, Zone: zone}
	case *unix.SockaddrUnix:
		if sotype == unix.SOCK_DGRAM {
			return &net.UnixAddr{Name: a.Name, Net: "unixgram"}
		}
		return &net.UnixAddr{Name: a.Name, Net: "unix"}
	}
	return nil
}

// fromNetAddr converts a UDP or Unix datagram address to a socket
// address of family.
func fromNetAddr(family int, addr net.Addr) (unix.Sockaddr, error) {
	switch a := addr.(type) {
	case *net.UDPAddr:
		ap := a.AddrPort()
		ip := ap.Addr().Unmap()
		if family == unix.AF_INET6 {
			return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ip.As16()}, nil
		}
		if !ip.Is4() {
			return nil, fmt.Errorf("aio: %v is not an IPv4 address", addr)
		}
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ip.As4()}, nil
	case *net.UnixAddr:
		return &unix.SockaddrUnix{Name: a.Name}, nil
	}
	return nil, fmt.Errorf("aio: cannot send to a %T address", addr)
}
