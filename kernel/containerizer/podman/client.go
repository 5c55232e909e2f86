package podman

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/containers/podman/v4/pkg/bindings"
	"github.com/containers/podman/v4/pkg/errorhandling"
)

// ErrNotFound is returned (wrapped) for a container the service does not know.
var ErrNotFound = errors.New("no such container")

// ErrNotRunning is returned (wrapped) by Stats for a container that is not
// running.
var ErrNotRunning = errors.New("container is not running")

// Client talks to one podman service over its REST API. It is safe for
// concurrent use.
type Client struct {
	conn    context.Context // carries the bindings' connection
	socket  string
	version string
	log     *slog.Logger

	mu       sync.Mutex
	watchers map[string]*oomWatcher // by podman container id
}

// Connect connects to the podman service listening on socket (a path, or a
// unix:// URI) and checks that it answers.
func Connect(ctx context.Context, socket string, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "containerizer/podman")
	path := strings.TrimPrefix(socket, "unix://")
	if path == "" {
		return nil, errors.New("podman: no socket given")
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := ping(pctx, path); err != nil {
		return nil, fmt.Errorf("podman: service on %s is not answering (is it running? the agent starts its own unless told to use another): %w", path, err)
	}
	// The connection context lives as long as the client: requests made
	// through it take their cancellation from the caller's context (see
	// withConn), not from this one.
	conn, err := bindings.NewConnection(context.WithoutCancel(ctx), "unix://"+path)
	if err != nil {
		return nil, fmt.Errorf("podman: connect to %s: %w", path, err)
	}
	c := &Client{
		conn:     conn,
		socket:   path,
		log:      log,
		watchers: make(map[string]*oomWatcher),
	}
	if v := bindings.ServiceVersion(conn); v != nil {
		c.version = v.String()
	}
	return c, nil
}

// Socket returns the path of the service's socket.
func (c *Client) Socket() string { return c.socket }

// Version returns the service's libpod API version, e.g. "4.3.1".
func (c *Client) Version() string { return c.version }

// Close releases what the client holds (OOM watchers). It does not stop the
// service or any container.
func (c *Client) Close() error {
	c.mu.Lock()
	ws := c.watchers
	c.watchers = make(map[string]*oomWatcher)
	c.mu.Unlock()
	for _, w := range ws {
		w.close()
	}
	return nil
}

// connCtx is a context that carries the caller's deadline and cancellation
// and the bindings' connection values.
type connCtx struct {
	context.Context
	conn context.Context
}

func (c connCtx) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.conn.Value(key)
}

// withConn returns ctx with the connection attached, for the bindings.
func (c *Client) withConn(ctx context.Context) context.Context {
	return connCtx{Context: ctx, conn: c.conn}
}

// statusCode returns the HTTP status of an error answered by the service, or 0.
func statusCode(err error) int {
	var em *errorhandling.ErrorModel
	if errors.As(err, &em) {
		return em.ResponseCode
	}
	return 0
}

// apiError wraps err from an API call on container name with the package
// prefix, mapping "no such container" to ErrNotFound.
func apiError(op, name string, err error) error {
	if statusCode(err) == http.StatusNotFound {
		return fmt.Errorf("podman: %s %s: %w: %v", op, name, ErrNotFound, err)
	}
	return fmt.Errorf("podman: %s %s: %w", op, name, err)
}
