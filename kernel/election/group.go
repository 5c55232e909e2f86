package election

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"google.golang.org/protobuf/encoding/protojson"

	"strata/kernel/mesos/mesospb"
)

// nodePrefix is the name prefix of Mesos' election children (reference §5).
const nodePrefix = "json.info_"

// ErrLost is returned by a Candidate's Run after it gave its leadership up.
var ErrLost = errors.New("election: leadership lost")

// DefaultSessionTimeout is Mesos' --zk_session_timeout.
const DefaultSessionTimeout = 10 * time.Second

// Config configures a Candidate or a Detector.
type Config struct {
	// URL is where the group lives (ParseURL).
	URL URL
	// SessionTimeout is the ZooKeeper session timeout (default DefaultSessionTimeout). A leader
	// disconnected for two thirds of it steps down.
	SessionTimeout time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// group is the watch loop a Candidate and a Detector share: it keeps the ZooKeeper session,
// and for a candidate its own child, and follows the smallest child.
type group struct {
	cfg  Config
	log  *slog.Logger
	info []byte // the candidate's MasterInfo JSON; nil for a detector
	id   string // the candidate's master id

	mu         sync.Mutex
	leader     string // host:port of the leader, "" when none is known
	leaderInfo *mesospb.MasterInfo
	leaderNode string
	own        string // the candidate's child (full path), "" when it has none
	seq        int64  // its sequence number, -1 when it has none
	led        bool   // it has led: it may not contend again
	leading    bool
	changed    chan struct{} // closed at every change of leader or leadership
	elected    chan struct{}
	lost       chan struct{}
	lostOnce   sync.Once
	conn       *zk.Conn
	stepDown   *time.Timer
	closing    bool // Run is returning: session events no longer matter
}

func newGroup(cfg Config, info *mesospb.MasterInfo) (*group, error) {
	if len(cfg.URL.Servers) == 0 || cfg.URL.Path == "" {
		return nil, errors.New("election: a zk:// URL with servers and a path is required")
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	g := &group{cfg: cfg, log: cfg.Logger.With("component", "election", "zk", cfg.URL.String()), seq: -1,
		changed: make(chan struct{}), elected: make(chan struct{}), lost: make(chan struct{})}
	if info != nil {
		b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(info)
		if err != nil {
			return nil, fmt.Errorf("election: encode MasterInfo: %w", err)
		}
		g.info, g.id = b, info.GetId()
	}
	return g, nil
}

// Leader returns the leading master's host:port and whether one is known.
func (g *group) Leader() (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.leader, g.leader != ""
}

// LeaderInfo returns the leading master's MasterInfo, or nil.
func (g *group) LeaderInfo() *mesospb.MasterInfo {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.leaderInfo
}

// Changed returns a channel closed at the next change of the leader (or of this candidate's
// leadership).
func (g *group) Changed() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

// WaitLeader waits until a leader is known and returns it.
func (g *group) WaitLeader(ctx context.Context) (string, error) { return g.WaitOther(ctx, "") }

// WaitOther waits until a leader other than from is known and returns it.
func (g *group) WaitOther(ctx context.Context, from string) (string, error) {
	for {
		ch := g.Changed()
		if l, ok := g.Leader(); ok && l != from {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-ch:
		}
	}
}

func (g *group) notifyLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) { l.log.Debug(fmt.Sprintf(format, args...)) }

// run keeps the session and the watch until ctx ends.
func (g *group) run(ctx context.Context) error {
	conn, events, err := zk.Connect(g.cfg.URL.Servers, g.cfg.SessionTimeout,
		zk.WithLogger(zkLogger{g.log}), zk.WithLogInfo(false))
	if err != nil {
		return fmt.Errorf("election: connect %v: %w", g.cfg.URL.Servers, err)
	}
	defer conn.Close()
	if g.cfg.URL.User != "" {
		if err := conn.AddAuth("digest", []byte(g.cfg.URL.User+":"+g.cfg.URL.Password)); err != nil {
			return fmt.Errorf("election: auth: %w", err)
		}
	}
	g.mu.Lock()
	g.conn = conn
	g.mu.Unlock()

	session := make(chan struct{}, 1) // a session event the loop must react to
	go func() {
		for ev := range events {
			if ev.Type != zk.EventSession {
				continue
			}
			g.sessionEvent(ev.State)
			select {
			case session <- struct{}{}:
			default:
			}
		}
	}()

	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if g.lostOnceDone() {
			// Closing the connection (deferred) ends the session: the child goes now if
			// ZooKeeper is reachable, else when the session expires.
			g.stop()
			return ErrLost
		}
		watch, err := g.sync(ctx, conn)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			g.log.Debug("zookeeper sync failed", "err", err)
			select {
			case <-ctx.Done():
			case <-session:
			case <-g.lost:
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		select {
		case <-ctx.Done():
		case <-watch:
		case <-session:
		case <-g.lost:
		}
	}
	g.stop()
	return nil
}

// stop readies the group for the connection's close: no step-down timer, no more reaction to
// session events (closing the connection reports a disconnection).
func (g *group) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stepDown != nil {
		g.stepDown.Stop()
		g.stepDown = nil
	}
	g.conn, g.closing = nil, true
}

// sessionEvent follows the session state: a leader that is disconnected for two thirds of the
// session timeout, or whose session expired, steps down for good.
func (g *group) sessionEvent(st zk.State) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closing {
		return
	}
	switch st {
	case zk.StateDisconnected:
		if g.leading && g.stepDown == nil {
			g.stepDown = time.AfterFunc(g.cfg.SessionTimeout*2/3, func() {
				g.mu.Lock()
				defer g.mu.Unlock()
				g.loseLocked("disconnected from ZooKeeper for 2/3 of the session timeout")
			})
		}
	case zk.StateHasSession:
		if g.stepDown != nil {
			g.stepDown.Stop()
			g.stepDown = nil
		}
	case zk.StateExpired:
		if g.leading {
			g.loseLocked("ZooKeeper session expired")
		}
		g.own, g.seq = "", -1 // the ephemeral child went with the session
	}
}

// loseLocked gives leadership up for good and deletes the own child if the session still
// holds it, so that the next candidate takes over at once.
func (g *group) loseLocked(reason string) {
	if !g.leading {
		return
	}
	g.log.Warn("leadership lost", "reason", reason)
	g.leading = false
	g.notifyLocked()
	g.lostOnce.Do(func() { close(g.lost) })
	if own, conn := g.own, g.conn; own != "" && conn != nil {
		go func() { _ = conn.Delete(own, -1) }()
	}
}

// sync makes sure the path (and, for a candidate that never led, its child) exists, reads the
// children with a watch and updates the leader. It returns the watch.
func (g *group) sync(ctx context.Context, conn *zk.Conn) (<-chan zk.Event, error) {
	if err := ensurePath(conn, g.cfg.URL.Path); err != nil {
		return nil, err
	}
	children, _, watch, err := conn.ChildrenW(g.cfg.URL.Path)
	if err != nil {
		return nil, fmt.Errorf("election: children of %s: %w", g.cfg.URL.Path, err)
	}
	if g.info != nil {
		created, err := g.ensureOwn(conn, children)
		if err != nil {
			return nil, err
		}
		if created { // read again: the watch must include our own child
			if children, _, watch, err = conn.ChildrenW(g.cfg.URL.Path); err != nil {
				return nil, fmt.Errorf("election: children of %s: %w", g.cfg.URL.Path, err)
			}
		}
	}
	node, _ := smallest(children)
	var info *mesospb.MasterInfo
	var addr string
	if node != "" {
		data, _, err := conn.Get(g.cfg.URL.Path + "/" + node)
		if errors.Is(err, zk.ErrNoNode) {
			return closedWatch(), nil // gone meanwhile: read again
		}
		if err != nil {
			return nil, fmt.Errorf("election: read %s: %w", node, err)
		}
		info, addr, err = ParseMasterInfo(data)
		if err != nil {
			g.log.Warn("unreadable leader znode", "node", node, "err", err)
		}
	}
	g.update(node, info, addr)
	return watch, ctx.Err()
}

// ensureOwn creates the candidate's child unless it has one, or has led already. A child of
// ours left by a create whose answer was lost (same session, same master id) is adopted.
// It reports whether it created one.
func (g *group) ensureOwn(conn *zk.Conn, children []string) (bool, error) {
	g.mu.Lock()
	own, led := g.own, g.led
	g.mu.Unlock()
	if led {
		return false, nil
	}
	if own != "" && slices.Contains(children, own[len(g.cfg.URL.Path)+1:]) {
		return false, nil
	}
	for _, c := range children {
		if !strings.HasPrefix(c, nodePrefix) {
			continue
		}
		data, stat, err := conn.Get(g.cfg.URL.Path + "/" + c)
		if err != nil || stat.EphemeralOwner != conn.SessionID() {
			continue
		}
		if info, _, err := ParseMasterInfo(data); err == nil && info.GetId() == g.id {
			g.setOwn(g.cfg.URL.Path + "/" + c)
			return false, nil
		}
	}
	p, err := conn.Create(g.cfg.URL.Path+"/"+nodePrefix, g.info, zk.FlagEphemeral|zk.FlagSequence, zk.WorldACL(zk.PermAll))
	if err != nil {
		return false, fmt.Errorf("election: create %s%s: %w", g.cfg.URL.Path+"/", nodePrefix, err)
	}
	g.setOwn(p)
	g.log.Info("contending for leadership", "node", p)
	return true, nil
}

func (g *group) setOwn(p string) {
	seq, _ := sequence(p[strings.LastIndexByte(p, '/')+1:])
	g.mu.Lock()
	g.own, g.seq = p, seq
	g.mu.Unlock()
}

func (g *group) update(node string, info *mesospb.MasterInfo, addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	leading := g.info != nil && node != "" && g.own != "" && g.own == g.cfg.URL.Path+"/"+node && !g.lostOnceDone()
	if node == g.leaderNode && addr == g.leader && leading == g.leading {
		return
	}
	g.leaderNode, g.leaderInfo, g.leader = node, info, addr
	if leading && !g.leading {
		g.leading, g.led = true, true
		g.log.Info("elected leader", "node", node)
		close(g.elected)
	} else if !leading && g.leading {
		g.loseLocked("our znode is no longer the leader's")
		return
	}
	g.log.Info("leader detected", "leader", addr, "node", node)
	g.notifyLocked()
}

func (g *group) lostOnceDone() bool {
	select {
	case <-g.lost:
		return true
	default:
		return false
	}
}

// ensurePath creates p and its ancestors as persistent nodes if they are missing.
func ensurePath(conn *zk.Conn, p string) error {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := ""
	for _, part := range parts {
		cur += "/" + part
		ok, _, err := conn.Exists(cur)
		if err != nil {
			return fmt.Errorf("election: exists %s: %w", cur, err)
		}
		if ok {
			continue
		}
		if _, err := conn.Create(cur, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("election: create %s: %w", cur, err)
		}
	}
	return nil
}

// smallest returns the election child with the smallest sequence number.
func smallest(children []string) (string, int64) {
	best, bestSeq := "", int64(-1)
	for _, c := range children {
		seq, ok := sequence(c)
		if !ok {
			continue
		}
		if bestSeq < 0 || seq < bestSeq {
			best, bestSeq = c, seq
		}
	}
	return best, bestSeq
}

// sequence parses the sequence number of a "json.info_NNNNNNNNNN" child.
func sequence(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, nodePrefix)
	if !ok || s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// ParseMasterInfo decodes the JSON MasterInfo of an election child and returns it with the
// master's host:port: the address' hostname (else its IP) and port, falling back to the
// top-level hostname, ip and port fields of older masters.
func ParseMasterInfo(data []byte) (*mesospb.MasterInfo, string, error) {
	var info mesospb.MasterInfo
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true, AllowPartial: true}).Unmarshal(data, &info); err != nil {
		return nil, "", fmt.Errorf("election: MasterInfo: %w", err)
	}
	host := info.GetAddress().GetHostname()
	if host == "" {
		host = info.GetAddress().GetIp()
	}
	if host == "" {
		host = info.GetHostname()
	}
	if host == "" && info.Ip != nil {
		ip := info.GetIp()
		host = net.IPv4(byte(ip), byte(ip>>8), byte(ip>>16), byte(ip>>24)).String()
	}
	port := int(info.GetAddress().GetPort())
	if port == 0 {
		port = int(info.GetPort())
	}
	if host == "" || port == 0 {
		return &info, "", fmt.Errorf("election: MasterInfo without an address")
	}
	return &info, net.JoinHostPort(host, strconv.Itoa(port)), nil
}

func closedWatch() <-chan zk.Event {
	ch := make(chan zk.Event)
	close(ch)
	return ch
}
