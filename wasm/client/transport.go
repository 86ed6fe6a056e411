package client

import "context"

// conn is the one WebSocket the core keeps to the gateway. Natively it is
// coder/websocket; in the browser it is the browser's own WebSocket
// through syscall/js (transport_js.go), which keeps net/http and
// crypto/tls out of core.wasm: a third of its size, and of the service
// worker's cold start.
type conn interface {
	// Read returns the next text frame.
	Read(ctx context.Context) ([]byte, error)
	Write(ctx context.Context, b []byte) error
	Close()
}

// closeError is how the gateway ended the connection.
type closeError struct {
	Code   int
	Reason string
}

func (e *closeError) Error() string {
	if e.Reason != "" {
		return "closed by the gateway: " + e.Reason
	}
	return "connection closed"
}
