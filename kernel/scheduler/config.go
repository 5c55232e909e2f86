package scheduler

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/election"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultBackoffMin = 500 * time.Millisecond
	DefaultBackoffMax = 15 * time.Second
	// ZKBackoffMax is the default BackoffMax with a zk:// master URL.
	ZKBackoffMax            = time.Second
	DefaultMissedHeartbeats = 5
	DefaultCallTimeout      = 30 * time.Second
	DefaultMaxRedirects     = 5
	// DefaultHeartbeatInterval is assumed when SUBSCRIBED carries no
	// heartbeat_interval_seconds (Mesos always sends 15).
	DefaultHeartbeatInterval = 15 * time.Second
)

// Path is the scheduler API endpoint on a master.
const Path = "/api/v1/scheduler"

// Config configures a Client. Only Masters and FrameworkInfo are required.
type Config struct {
	// Masters are the masters to subscribe to, as "host:port" (or
	// "http://host:port", "https://host:port"), tried in order. A
	// non-leading master's 307 redirect is followed to the leader.
	Masters []string

	zk *election.URL // set by withDefaults when Masters is one zk:// URL

	// FrameworkInfo is sent with SUBSCRIBE. Set Id to fail over an existing
	// framework; otherwise the master assigns one and the client reuses it
	// for every resubscription. The client keeps its own copy.
	FrameworkInfo *mesospb.FrameworkInfo

	// SuppressedRoles and OfferConstraints are sent with every SUBSCRIBE
	// (UpdateFramework replaces them).
	SuppressedRoles  []string
	OfferConstraints *schedulerpb.OfferConstraints

	// Codec is the wire format of calls and events (codec.JSON or
	// codec.Protobuf). The zero value means protobuf.
	Codec codec.Codec

	// HTTPClient sends the requests. Default: a client using
	// http.DefaultTransport. Its redirect policy is ignored (the client
	// follows leader redirects itself) and its Timeout applies to calls
	// only, never to the subscription stream.
	HTTPClient *http.Client

	// BackoffMin and BackoffMax bound the exponential delay (with jitter)
	// between subscription attempts. Defaults: 500ms and 15s.
	BackoffMin, BackoffMax time.Duration

	// MissedHeartbeats is how many heartbeat intervals may pass without any
	// event before the client drops the stream and resubscribes. Default 5.
	MissedHeartbeats int

	// CallTimeout bounds each call and the wait for the first event after a
	// SUBSCRIBE is sent. Default 30s.
	CallTimeout time.Duration

	// MaxRedirects caps the leader redirects followed per attempt. Default 5.
	MaxRedirects int

	// AutoAcknowledge makes the client ACKNOWLEDGE every UPDATE that carries
	// a uuid once Handler.Update has returned nil (and likewise every
	// UPDATE_OPERATION_STATUS through ACKNOWLEDGE_OPERATION_STATUS).
	// Updates without a uuid are never acknowledged.
	AutoAcknowledge bool

	// Logger receives the client's logs. Default: slog.Default().
	Logger *slog.Logger
}

// withDefaults validates c and returns a copy with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if len(c.Masters) == 0 {
		return c, errors.New("scheduler: config: no masters")
	}
	if c.FrameworkInfo == nil {
		return c, errors.New("scheduler: config: no FrameworkInfo")
	}
	masters := make([]string, 0, len(c.Masters))
	for _, m := range c.Masters {
		if election.IsZK(m) {
			if len(c.Masters) != 1 {
				return c, fmt.Errorf("scheduler: config: a zk:// master URL must be the only master")
			}
			u, err := election.ParseURL(m)
			if err != nil {
				return c, fmt.Errorf("scheduler: config: %w", err)
			}
			c.zk = &u
			break
		}
		base, err := baseURL(m)
		if err != nil {
			return c, fmt.Errorf("scheduler: config: master %q: %w", m, err)
		}
		masters = append(masters, base)
	}
	c.Masters = masters
	c.FrameworkInfo = proto.Clone(c.FrameworkInfo).(*mesospb.FrameworkInfo)
	if c.OfferConstraints != nil {
		c.OfferConstraints = proto.Clone(c.OfferConstraints).(*schedulerpb.OfferConstraints)
	}
	c.SuppressedRoles = append([]string(nil), c.SuppressedRoles...)
	if c.Codec == (codec.Codec{}) {
		c.Codec = codec.Protobuf
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = DefaultBackoffMin
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = DefaultBackoffMax
		if c.zk != nil {
			// With ZooKeeper the framework knows when a new leader is elected and a failed
			// attempt costs a refused connection: retry at least every ZKBackoffMax.
			c.BackoffMax = ZKBackoffMax
		}
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = c.BackoffMin
	}
	if c.MissedHeartbeats <= 0 {
		c.MissedHeartbeats = DefaultMissedHeartbeats
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.MaxRedirects <= 0 {
		c.MaxRedirects = DefaultMaxRedirects
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// baseURL turns "host:port" or "scheme://host:port[/...]" into
// "scheme://host:port".
func baseURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty address")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return "", errors.New("no host")
	}
	return u.Scheme + "://" + u.Host, nil
}

// redirectBase resolves a redirect's Location against the base URL of the
// master that sent it. Only the host:port is used: Mesos sends a
// protocol-relative "//host:port/path" that keeps the current scheme.
func redirectBase(current, location string) (string, error) {
	if location == "" {
		return "", errors.New("redirect without Location")
	}
	cur, err := url.Parse(current)
	if err != nil {
		return "", err
	}
	loc, err := url.Parse(location)
	if err != nil {
		return "", fmt.Errorf("redirect Location %q: %w", location, err)
	}
	if loc.Host == "" {
		return "", fmt.Errorf("redirect Location %q names no host", location)
	}
	scheme := cur.Scheme
	if loc.Scheme == "http" || loc.Scheme == "https" {
		scheme = loc.Scheme
	}
	base := scheme + "://" + loc.Host
	// url.Parse accepts hosts that cannot be dialled back (an unbracketed IPv6 address such as
	// "::0" reads as a port); check the base the way it will be used.
	if _, err := url.Parse(base); err != nil {
		return "", fmt.Errorf("redirect Location %q: %w", location, err)
	}
	return base, nil
}
