package server

import (
	"io"
	"net"
	"sync"
	"time"
)

// Lingering close bounds: how long, and how many bytes, a closed connection keeps reading
// what its client is still sending. Twice the largest body the server takes (an import's).
const (
	lingerTime  = 2 * time.Second
	lingerBytes = 2 * importBodyLimit
)

// lingerListener gives every TCP connection a lingering close, as HTTP servers have done
// since Apache: when the server closes a connection whose client is still sending (a body
// refused as too large, a refused framing), closing at once would make the kernel answer
// the unread bytes with a reset, and the client would lose the reply that says why. The
// connection is shut for writing instead, so the reply and a FIN go out, and what the client
// still sends is read and dropped until it closes, within lingerTime and lingerBytes.
type lingerListener struct{ net.Listener }

// Accept wraps TCP connections; others are returned as they are.
func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		return &lingerConn{TCPConn: tc}, nil
	}
	return c, nil
}

// lingerConn is a TCP connection whose Close lingers; see lingerListener.
type lingerConn struct {
	*net.TCPConn
	once sync.Once
}

// Close shuts the connection for writing and drains it in the background; it returns at once.
func (c *lingerConn) Close() error {
	var err error
	c.once.Do(func() {
		if c.TCPConn.CloseWrite() != nil {
			err = c.TCPConn.Close()
			return
		}
		go c.drain()
	})
	return err
}

// drain reads and drops what the client still sends, then closes the connection.
func (c *lingerConn) drain() {
	_ = c.TCPConn.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c.TCPConn, lingerBytes)
	_ = c.TCPConn.Close()
}
