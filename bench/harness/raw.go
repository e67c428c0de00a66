package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// rawAnswer is what a raw request got back.
type rawAnswer struct {
	Status int
	Body   []byte
	// API is true when the answer came from sanbao's handlers (it carries
	// their X-Request-Id, unlike net/http's own refusals of a malformed
	// request line or oversized headers) for a target under /api/: the
	// contract's JSON error shape applies. The public pages answer HTML.
	API bool
}

// apiAnswer marks a as subject to the JSON error shape when it came from
// sanbao's handlers for a target under /api/.
func apiAnswer(a rawAnswer, app bool, target string) rawAnswer {
	a.API = app && strings.HasPrefix(target, "/api/")
	return a
}

// fromResp turns an API client answer to path into a rawAnswer.
func fromResp(r Resp, path string) rawAnswer {
	return apiAnswer(rawAnswer{Status: r.Status, Body: r.Body}, r.Header.Get("X-Request-Id") != "", path)
}

// rawRequest sends req as written (no client-side cleaning of the path or
// headers) on a connection of its own and reads one answer.
func rawRequest(addr string, req []byte, timeout time.Duration) (rawAnswer, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return rawAnswer{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(req); err != nil {
		return rawAnswer{}, err
	}
	target := ""
	if f := strings.Fields(strings.SplitN(string(req), "\r\n", 2)[0]); len(f) > 1 {
		target = f[1]
	}
	return readAnswer(conn, target)
}

func readAnswer(conn net.Conn, target string) (rawAnswer, error) {
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return rawAnswer{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return apiAnswer(rawAnswer{Status: resp.StatusCode, Body: body}, resp.Header.Get("X-Request-Id") != "", target), nil
}

// rawHTTP builds a request; headers are "Name: value" lines.
func rawHTTP(method, target string, body []byte, headers ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != nil {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	return append([]byte(b.String()), body...)
}

// streamBody sends headers announcing a chunked body and then streams
// chunks of zeros (up to total bytes) while waiting for the answer, the
// way a client uploading a huge file does. The answer may come before the
// body is done; a server that closes without answering is an error.
func streamBody(addr, method, target string, total int64, timeout time.Duration, headers ...string) (rawAnswer, int64, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return rawAnswer{}, 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n", method, target)
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return rawAnswer{}, 0, err
	}
	sent := make(chan int64, 1)
	go func() {
		chunk := make([]byte, 64<<10)
		// Spaces: a JSON or CSV decoder reading them finds no error before
		// the size limit does.
		for i := range chunk {
			chunk[i] = ' '
		}
		head := []byte(fmt.Sprintf("%x\r\n", len(chunk)))
		var n int64
		for n < total {
			if _, err := conn.Write(head); err != nil {
				break
			}
			if _, err := conn.Write(chunk); err != nil {
				break
			}
			if _, err := io.WriteString(conn, "\r\n"); err != nil {
				break
			}
			n += int64(len(chunk))
		}
		if n >= total {
			io.WriteString(conn, "0\r\n\r\n")
		}
		sent <- n
	}()
	ans, err := readAnswer(conn, target)
	conn.Close() // stops the writer if the answer came first
	return ans, <-sent, err
}
