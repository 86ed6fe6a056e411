package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// instanceLock is held by the running gateway (see LockInstance).
const instanceLock = 0x63746902

// ErrInstanceRunning means another gateway holds the instance lock.
var ErrInstanceRunning = errors.New("postgres: another gateway instance is running against this database")

// LockInstance takes the single-instance lock on a connection of its own
// and holds it until release is called or the connection dies. Two
// gateways on one database and PBX would both monitor every device and
// log every call twice; until scale-out (B12) lands, the second refuses
// to start.
func (db *DB) LockInstance(ctx context.Context) (release func(), err error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: instance lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, instanceLock).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("postgres: instance lock: %w", err)
	}
	if !ok {
		conn.Release()
		return nil, ErrInstanceRunning
	}
	// The session-level lock lives as long as this connection: keep it
	// out of the pool until release.
	raw := conn.Hijack()
	return func() {
		// Unlock before hanging up: the server frees a dead session's locks
		// only when its backend has exited, and a restarted gateway should
		// not have to wait for that.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = raw.Exec(ctx, `SELECT pg_advisory_unlock($1)`, instanceLock)
		raw.Close(ctx)
	}, nil
}
