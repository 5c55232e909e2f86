package master

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
)

// recoveryWait is how long a request to a master that was just elected waits for its
// recovery before it is answered 503.
const recoveryWait = 10 * time.Second

// maxBodyBytes bounds request bodies on the call endpoints.
const maxBodyBytes = 16 << 20

func init() { gin.SetMode(gin.ReleaseMode) }

// Handler returns the master's HTTP handler: every API and endpoint it serves.
func (m *Master) Handler() http.Handler {
	r := gin.New()
	r.Use(gin.Recovery(), m.metrics.middleware())
	r.HandleMethodNotAllowed = true

	r.Any("/api/v1/scheduler", m.handleScheduler)
	r.Any("/api/v1", m.handleOperator)
	r.Any("/internal/v1/agent", m.handleAgentCall)

	both := func(path string, h gin.HandlerFunc) {
		r.GET(path, h)
		r.GET("/master"+path, h)
	}
	both("/state", m.leaderOnly(m.handleState))
	both("/state.json", m.leaderOnly(m.handleState))
	both("/state-summary", m.leaderOnly(m.handleStateSummary))
	both("/frameworks", m.leaderOnly(m.handleFrameworks))
	both("/slaves", m.leaderOnly(m.handleSlaves))
	both("/tasks", m.leaderOnly(m.handleTasks))
	both("/roles", m.leaderOnly(m.handleRoles))
	both("/weights", m.leaderOnly(m.handleWeights))
	r.PUT("/weights", m.leaderOnly(m.handleUpdateWeights))
	r.PUT("/master/weights", m.leaderOnly(m.handleUpdateWeights))
	both("/flags", m.handleFlags)
	both("/health", func(c *gin.Context) { c.Status(http.StatusOK) })
	both("/version", m.handleVersion)
	r.GET("/master/redirect", m.handleRedirect)
	r.GET("/redirect", m.handleRedirect)
	r.GET("/master/redirect/*rest", func(c *gin.Context) { c.Status(http.StatusNotFound) })
	r.POST("/master/teardown", m.leaderOnly(m.handleTeardownEndpoint))
	r.POST("/teardown", m.leaderOnly(m.handleTeardownEndpoint))
	r.GET("/metrics/snapshot", m.handleMetricsSnapshot)
	r.GET("/metrics", gin.WrapH(m.metrics.handler()))
	return r
}

// redirectToLeader answers 307 to the leader (or 503 when none is known) and reports whether it
// did; a leading master lets the request through.
func (m *Master) redirectToLeader(c *gin.Context) bool {
	if m.isLeading() {
		return false
	}
	if m.leaders.IsLeader() {
		// Elected and recovering: hold the request for the few milliseconds recovery takes
		// rather than turn the client away into its backoff.
		t := time.NewTimer(recoveryWait)
		select {
		case <-m.led:
		case <-t.C:
		case <-c.Request.Context().Done():
		}
		t.Stop()
		if m.isLeading() {
			return false
		}
	}
	leader, ok := m.leaders.Leader()
	if !ok || leader == m.Addr() { // elected but still recovering, or just deposed
		c.Data(http.StatusServiceUnavailable, "text/plain", []byte("No leader elected"))
		return true
	}
	loc := "//" + leader + c.Request.URL.Path
	if q := c.Request.URL.RawQuery; q != "" {
		loc += "?" + q
	}
	c.Header("Location", loc)
	c.Status(http.StatusTemporaryRedirect)
	return true
}

// isLeading reports whether this master leads and has recovered.
func (m *Master) isLeading() bool { return m.leading.Load() && m.leaders.IsLeader() }

func (m *Master) leaderOnly(h gin.HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if m.redirectToLeader(c) {
			return
		}
		h(c)
	}
}

// textError writes a plain-text error body, as Mesos does for 4xx answers.
func textError(c *gin.Context, code int, format string, args ...any) {
	c.Data(code, "text/plain; charset=utf-8", []byte(fmt.Sprintf(format, args...)))
}

// decodeCall runs the transport checks shared by every call endpoint (method, content type, body)
// and decodes the body into msg with the request's codec. It writes the error answer itself and
// returns false when the request is rejected.
func decodeCall(c *gin.Context, msg proto.Message, what string) (codec.Codec, bool) {
	r := c.Request
	if r.Method != http.MethodPost {
		c.Header("Allow", "POST")
		textError(c, http.StatusMethodNotAllowed, "Expecting a 'POST' request, received '%s'", r.Method)
		return codec.Codec{}, false
	}
	cd, err := codec.ForContentType(r.Header.Get("Content-Type"))
	switch {
	case errors.Is(err, codec.ErrMissingContentType):
		textError(c, http.StatusBadRequest, "Expecting 'Content-Type' to be present")
		return codec.Codec{}, false
	case err != nil:
		textError(c, http.StatusUnsupportedMediaType, "Expecting 'Content-Type' of %s or %s", codec.ContentTypeJSON, codec.ContentTypeProtobuf)
		return codec.Codec{}, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		textError(c, http.StatusBadRequest, "Failed to read request body: %v", err)
		return codec.Codec{}, false
	}
	if len(body) > maxBodyBytes {
		textError(c, http.StatusRequestEntityTooLarge, "Request body larger than %d bytes", maxBodyBytes)
		return codec.Codec{}, false
	}
	if cd == codec.Protobuf && proto.Unmarshal(body, msg) == nil {
		// The common case, fast: proto.Unmarshal checks proto2 required fields with the generated
		// tables, an order of magnitude quicker than codec's reflective walk (that walk cost half of
		// the master's own CPU per launched task in BenchmarkOfferLoop). The walk runs below only to
		// word the error of a body that fails.
		return cd, true
	}
	if err := cd.Unmarshal(body, msg); err != nil {
		textError(c, http.StatusBadRequest, "Failed to parse body into %s: %v", what, err)
		return codec.Codec{}, false
	}
	return cd, true
}

// acceptCodec picks the response codec from the Accept headers; ok is false when neither JSON nor
// protobuf is acceptable.
func acceptCodec(c *gin.Context) (codec.Codec, bool) {
	return codec.Negotiate(c.Request.Header.Values("Accept"))
}

// writeMessage answers 200 with msg encoded in cd, with the exact Content-Type clients compare.
func writeMessage(c *gin.Context, cd codec.Codec, msg proto.Message) {
	b, err := cd.Marshal(msg)
	if err != nil {
		textError(c, http.StatusInternalServerError, "Failed to encode response: %v", err)
		return
	}
	c.Data(http.StatusOK, cd.ContentType(), b)
}

// startStream writes the 200 headers of a RecordIO event stream.
func startStream(c *gin.Context, cd codec.Codec, extra map[string]string) {
	w := c.Writer
	w.Header().Set("Content-Type", cd.ContentType())
	w.Header().Set("Cache-Control", "no-cache")
	for k, v := range extra {
		w.Header().Set(k, v)
	}
	w.WriteHeader(http.StatusOK)
	w.Flush()
}

func trimAll(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
