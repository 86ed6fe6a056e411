package csta

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sync"
	"time"
)

// TraceRecord is one frame as it crossed the link: what a switch vendor
// asks for in a support case. Body has its passwords redacted.
type TraceRecord struct {
	At       time.Time
	Dir      Direction
	InvokeID int
	Body     []byte
}

var (
	// passwordElement matches the text of any element named password in
	// any namespace (SessionLoginInfo's, and any other), CDATA included.
	passwordElement = regexp.MustCompile(`(?is)(<(?:[a-z_][\w.-]*:)?password(?:\s[^>]*)?>)(<!\[CDATA\[.*?\]\]>|[^<]*)(</)`)
	// passwordAttr matches an attribute named password.
	passwordAttr = regexp.MustCompile(`(?i)(\s(?:[a-z_][\w.-]*:)?password\s*=\s*)("[^"]*"|'[^']*')`)
)

// Redact returns body with every password replaced by "***": the text of
// elements named password and the value of attributes named password,
// whatever their namespace prefix or case.
func Redact(body []byte) []byte {
	if !bytes.Contains(bytes.ToLower(body), []byte("password")) {
		return body
	}
	out := passwordElement.ReplaceAll(body, []byte("${1}***${3}"))
	return passwordAttr.ReplaceAll(out, []byte(`${1}"***"`))
}

// TraceWriter returns a Config.Trace that writes one line per frame to w:
// an RFC 3339 UTC timestamp with microseconds, "in" or "out", the invoke
// ID, and the body with line breaks folded to spaces. Writes are
// serialised; a failing writer loses lines but never stalls the link
// beyond the write itself.
func TraceWriter(w io.Writer) func(TraceRecord) {
	var mu sync.Mutex
	return func(r TraceRecord) {
		dir := "in "
		if r.Dir == Out {
			dir = "out"
		}
		body := bytes.Map(func(c rune) rune {
			if c == '\n' || c == '\r' {
				return ' '
			}
			return c
		}, r.Body)
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(w, "%s %s %04d %s\n", r.At.UTC().Format("2006-01-02T15:04:05.000000Z"), dir, r.InvokeID, body)
	}
}

// trace hands a frame to Config.Trace, redacted.
func (c *Conn) trace(dir Direction, id int, body []byte) {
	if c.cfg.Trace == nil {
		return
	}
	c.cfg.Trace(TraceRecord{At: time.Now(), Dir: dir, InvokeID: id, Body: Redact(bytes.Clone(body))})
}
