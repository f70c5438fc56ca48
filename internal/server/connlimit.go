package server

import (
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// connLimiter caps concurrent connections per client address at the listener, so a client
// that opens connections in bulk cannot starve the others. It replaces fasthttp's own
// MaxConnsPerIP, whose connection wrapper races with the server's readers at shutdown.
// Behind a proxy every client shares the proxy's address: raise the cap there.
type connLimiter struct {
	net.Listener
	max int

	mu sync.Mutex
	n  map[netip.Addr]int
}

func newConnLimiter(ln net.Listener, max int) net.Listener {
	if max <= 0 {
		return ln
	}
	return &connLimiter{Listener: ln, max: max, n: make(map[netip.Addr]int)}
}

// tooManyConns is written to a connection over the cap before it is closed: the same shape
// of error as every other reply, built once.
var tooManyConns = func() []byte {
	const reason, msg = "too_many_conns", "too many connections from your address"
	body := `{"error":"` + msg + `","reason":"` + reason + `"}`
	return []byte("HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Type: application/json\r\n" +
		"Retry-After: 1\r\nX-Pathlight-Reason: " + reason + ": " + msg + "\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

// Accept returns the next connection whose address is under the cap; connections over it are
// answered 429 and closed.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteAddr(c)
		l.mu.Lock()
		if l.n[ip] >= l.max {
			l.mu.Unlock()
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write(tooManyConns)
			_ = c.Close()
			continue
		}
		l.n[ip]++
		l.mu.Unlock()
		return &limitedConn{Conn: c, l: l, ip: ip}, nil
	}
}

func (l *connLimiter) release(ip netip.Addr) {
	l.mu.Lock()
	if l.n[ip]--; l.n[ip] <= 0 {
		delete(l.n, ip)
	}
	l.mu.Unlock()
}

// limitedConn gives its slot back when closed, once.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	ip   netip.Addr
	once sync.Once
}

// Close releases the connection's slot, once, and closes it.
func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c.ip) })
	return c.Conn.Close()
}

func remoteAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return addrOf(ta.IP)
	}
	return netip.Addr{}
}
