package feed

import (
	"net"
	"sync"
	"testing"
	"time"
)

// tcpProxy forwards connections to a real master and can cut them: block closes every
// connection and refuses new ones (a network partition), freeze stops forwarding on the
// connections open at the time while keeping them open (a half-open stream, which only the
// missed-heartbeat check detects). It is network plumbing between real components, not a
// stand-in for one.
type tcpProxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu      sync.Mutex
	blocked bool
	conns   map[net.Conn]*proxyConn
}

type proxyConn struct {
	peer   net.Conn
	frozen bool
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, ln: ln, target: target, conns: map[net.Conn]*proxyConn{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.block() })
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		blocked := p.blocked
		p.mu.Unlock()
		if blocked {
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c] = &proxyConn{peer: up}
		p.mu.Unlock()
		go p.pipe(c, up, c)
		go p.pipe(up, c, c)
	}
}

// pipe copies src to dst while the connection key is not frozen.
func (p *tcpProxy) pipe(dst, src, key net.Conn) {
	defer func() {
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, key)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for n > 0 && p.frozen(key) {
			time.Sleep(5 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *tcpProxy) frozen(key net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	pc, ok := p.conns[key]
	return ok && pc.frozen
}

// freeze stops forwarding on the open connections; new ones work.
func (p *tcpProxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pc := range p.conns {
		pc.frozen = true
	}
}

// block closes every connection and refuses new ones until open.
func (p *tcpProxy) block() {
	p.mu.Lock()
	p.blocked = true
	conns := p.conns
	p.conns = map[net.Conn]*proxyConn{}
	p.mu.Unlock()
	for c, pc := range conns {
		c.Close()
		pc.peer.Close()
	}
}

func (p *tcpProxy) open() {
	p.mu.Lock()
	p.blocked = false
	p.mu.Unlock()
}
