package server_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRefusedBodyIsReadToTheEnd: a client still sending a body the server refused as too large
// gets the 413 and its reason, and can finish sending without its connection being reset (a
// server closing at once makes the kernel reset it, and the client loses the reply).
func TestRefusedBodyIsReadToTheEnd(t *testing.T) {
	ts := start(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	const size = 4 << 20
	head := "POST /v1/hit HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nOrigin: https://shop.example\r\n" +
		"Content-Length: " + itoa(size) + "\r\n\r\n"
	if _, err := c.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the reply before the body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || !strings.HasPrefix(resp.Header.Get("X-Pathlight-Reason"), "body_too_large") {
		t.Fatalf("reply %d %q; want 413 body_too_large", resp.StatusCode, resp.Header.Get("X-Pathlight-Reason"))
	}
	// The server has answered and closed its side; the client sends the body as it would.
	chunk := make([]byte, 64<<10)
	for sent := 0; sent < size; sent += len(chunk) {
		if _, err := c.Write(chunk); err != nil {
			t.Fatalf("after %d bytes of the refused body: %v; want the server to read it to the end", sent, err)
		}
		if sent == 0 {
			time.Sleep(100 * time.Millisecond) // past the server's close: a reset would have come by now
		}
	}
}
