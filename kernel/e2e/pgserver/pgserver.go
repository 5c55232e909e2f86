package pgserver

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"strata/kernel/e2e/procs"
)

// BinDir holds Debian's PostgreSQL 15 programs.
const BinDir = "/usr/lib/postgresql/15/bin"

// Require fails the test under CI=true, and skips it elsewhere, when PostgreSQL is not
// installed (scripts/install-deps.sh installs it).
func Require(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(BinDir, "postgres")); err == nil {
		if _, err := user.Lookup("postgres"); err == nil {
			return
		}
	}
	procs.Missing(t, "PostgreSQL is not installed (apt-get install postgresql; scripts/install-deps.sh does it)")
}

// Server is one PostgreSQL cluster.
type Server struct {
	Port int
	dir  string
	cred *syscall.Credential
	proc *procs.Proc
	t    testing.TB
}

// Start makes a cluster (initdb, trust authentication on loopback) and starts it.
func Start(t testing.TB) *Server {
	t.Helper()
	Require(t)
	dir, err := os.MkdirTemp("", "strata-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	s := &Server{Port: procs.FreePort(t), dir: dir, t: t, cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := s.asPostgres(filepath.Join(BinDir, "initdb"), "-D", s.data(), "-U", "postgres", "-A", "trust",
		"--no-sync", "-E", "UTF8", "--locale=C").CombinedOutput()
	if err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	s.Start()
	return s
}

func (s *Server) data() string { return filepath.Join(s.dir, "data") }

func (s *Server) asPostgres(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	cmd.Dir = s.dir
	return cmd
}

// DSN is the URL of database "postgres" as the superuser.
func (s *Server) DSN() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
}

// CreateDB creates a database and returns its URL.
func (s *Server) CreateDB(name string) string {
	s.t.Helper()
	out, err := exec.Command(filepath.Join(BinDir, "createdb"), "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port),
		"-U", "postgres", name).CombinedOutput()
	if err != nil {
		s.t.Fatalf("createdb %s: %v\n%s", name, err, out)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, name)
}

// Start starts the server (again) and waits until it accepts connections.
func (s *Server) Start() {
	s.t.Helper()
	s.proc = procs.StartCmd(s.t, s.asPostgres(filepath.Join(BinDir, "postgres"),
		"-D", s.data(), "-p", strconv.Itoa(s.Port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.dir, "-c", "fsync=off", "-c", "max_connections=200"))
	// A fast shutdown at the end of the test: the cleanup of a server started again after
	// clients (t.Cleanup runs last in, first out) would otherwise SIGTERM it first, a smart
	// shutdown that waits for those clients to disconnect.
	proc := s.proc
	s.t.Cleanup(func() { proc.Signal(s.t, syscall.SIGINT) })
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := exec.Command(filepath.Join(BinDir, "pg_isready"), "-q", "-U", "postgres", "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port)).Run()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("postgres not ready within 60s:\n%s", s.proc.Output())
		}
		select {
		case <-s.proc.Done():
			s.t.Fatalf("postgres exited:\n%s", s.proc.Output())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop stops the server (fast shutdown: SIGINT to the postmaster).
func (s *Server) Stop() { s.proc.Signal(s.t, syscall.SIGINT) }
