package server

import "testing"

// BenchmarkFramingProblem measures the framing check every request pays, on the headers of a
// browser's beacon hit.
func BenchmarkFramingProblem(b *testing.B) {
	raw := []byte("Host: pathlight.shop.example\r\nConnection: keep-alive\r\nContent-Length: 412\r\n" +
		"sec-ch-ua-platform: \"Windows\"\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
		"Content-Type: text/plain;charset=UTF-8\r\nAccept: */*\r\nOrigin: https://shop.example\r\nSec-Fetch-Site: same-site\r\n" +
		"Sec-Fetch-Mode: cors\r\nReferer: https://shop.example/pricing\r\nAccept-Encoding: gzip, deflate, br\r\n" +
		"Accept-Language: en-GB,en;q=0.9\r\nCookie: pl_vid=0123456789abcdef0123456789abcdef\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if framingProblem(raw) != "" {
			b.Fatal("a browser's hit refused")
		}
	}
}
