// Command benchbare is the reference server of `make bench-load`: a bare fasthttp handler
// that answers every request 204 (server.ServeBare), run as its own process so that the load
// run compares two processes alike but for Pathlight's work.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"

	"github.com/pathlight/pathlight/internal/server"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18600", "address to listen on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchbare:", err)
		os.Exit(1)
	}
	fmt.Printf("benchbare is listening on http://%s\n", ln.Addr())
	if err := server.ServeBare(ln); err != nil {
		fmt.Fprintln(os.Stderr, "benchbare:", err)
		os.Exit(1)
	}
}
