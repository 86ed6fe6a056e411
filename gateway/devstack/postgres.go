package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a throwaway PostgreSQL server: its own data directory in a
// temp dir, listening only on a random loopback port. It can be stopped and
// started again on the same port and data, which is how tests make the
// database vanish mid-call.
type Postgres struct {
	Port     int
	Database string

	dir  string
	bin  string
	cred *syscall.Credential

	mu     sync.Mutex
	proc   *process
	closed bool
}

// StartPostgres creates a fresh cluster with database "crmcti" and starts it.
func StartPostgres(ctx context.Context) (*Postgres, error) {
	bin, err := postgresBinDir()
	if err != nil {
		return nil, err
	}
	pg := &Postgres{Database: "crmcti", bin: bin}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root; the Debian package creates the
		// "postgres" user for exactly this.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("devstack: postgres: running as root needs the postgres user: %w (apt-get install -y postgresql)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	pg.dir, err = os.MkdirTemp("", "crmcti-pg-")
	if err != nil {
		return nil, fmt.Errorf("devstack: postgres: %w", err)
	}
	if pg.cred != nil {
		if err := os.Chown(pg.dir, int(pg.cred.Uid), int(pg.cred.Gid)); err != nil {
			pg.removeDir()
			return nil, fmt.Errorf("devstack: postgres: %w", err)
		}
	}
	if err := pg.initdb(ctx); err != nil {
		pg.removeDir()
		return nil, err
	}
	// A port picked by freePort can be taken before the server binds it.
	for attempt := 0; ; attempt++ {
		if pg.Port, err = freePort(); err != nil {
			pg.removeDir()
			return nil, fmt.Errorf("devstack: postgres: %w", err)
		}
		if err = pg.Start(ctx); err == nil || attempt == 2 || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		pg.removeDir()
		return nil, err
	}
	if err := pg.exec(ctx, "postgres", "CREATE DATABASE "+pg.Database); err != nil {
		pg.Close()
		return nil, err
	}
	return pg, nil
}

// Dir is the temp dir holding the cluster, its socket and its log.
func (pg *Postgres) Dir() string { return pg.dir }

// URL is the connection string for the test database.
func (pg *Postgres) URL() string { return pg.urlFor(pg.Database) }

func (pg *Postgres) urlFor(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.Port, db)
}

func (pg *Postgres) initdb(ctx context.Context) error {
	p, err := startProcess("initdb", filepath.Join(pg.dir, "initdb.log"), pg.cred, syscall.SIGKILL,
		filepath.Join(pg.bin, "initdb"), "-D", filepath.Join(pg.dir, "data"),
		"-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return err
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		_ = p.stop(syscall.SIGKILL, time.Second)
		return fmt.Errorf("devstack: initdb: %w", ctx.Err())
	}
	if p.err != nil {
		return fmt.Errorf("devstack: initdb: %v; log:\n%s", p.err, p.logTail())
	}
	return nil
}

// Start starts the server (again). Durability is off: this is test data.
func (pg *Postgres) Start(ctx context.Context) error {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.closed {
		return errors.New("devstack: postgres: closed")
	}
	if pg.proc != nil && !pg.proc.exited() {
		return nil
	}
	p, err := startProcess("postgres", filepath.Join(pg.dir, "postgres.log"), pg.cred, syscall.SIGQUIT,
		filepath.Join(pg.bin, "postgres"), "-D", filepath.Join(pg.dir, "data"),
		"-p", itoa(pg.Port), "-k", pg.dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.waitReady(ctx, func(ctx context.Context) error {
		c, err := pgx.Connect(ctx, pg.urlFor("postgres"))
		if err != nil {
			return err
		}
		return c.Close(ctx)
	}); err != nil {
		_ = p.stop(syscall.SIGQUIT, 5*time.Second)
		return err
	}
	pg.proc = p
	return nil
}

// Stop shuts the server down (fast mode: clients are disconnected) and keeps
// its data for a later Start.
func (pg *Postgres) Stop() error {
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.proc == nil {
		return nil
	}
	err := pg.proc.stop(syscall.SIGINT, 15*time.Second)
	pg.proc = nil
	return err
}

// Close stops the server and removes every file it had. Safe to call twice.
func (pg *Postgres) Close() error {
	err := pg.Stop()
	pg.mu.Lock()
	defer pg.mu.Unlock()
	if pg.closed {
		return nil
	}
	pg.closed = true
	if rmErr := pg.removeDir(); err == nil {
		err = rmErr
	}
	return err
}

func (pg *Postgres) removeDir() error {
	if err := os.RemoveAll(pg.dir); err != nil {
		return fmt.Errorf("devstack: postgres: remove %s: %w", pg.dir, err)
	}
	return nil
}

func (pg *Postgres) exec(ctx context.Context, db, sql string) error {
	c, err := pgx.Connect(ctx, pg.urlFor(db))
	if err != nil {
		return fmt.Errorf("devstack: postgres: connect: %w", err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, sql); err != nil {
		return fmt.Errorf("devstack: postgres: %s: %w", sql, err)
	}
	return nil
}

// postgresBinDir finds the newest Debian PostgreSQL server installed.
func postgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		return versionOf(dirs[i]) > versionOf(dirs[j])
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	p, err := lookBin("postgresql", "initdb")
	if err != nil {
		return "", err
	}
	return filepath.Dir(p), nil
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// ProcessGroup is the server's process group, for reading its CPU time.
func (p *Postgres) ProcessGroup() int { return p.proc.processGroup() }
