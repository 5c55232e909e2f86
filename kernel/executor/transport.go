package executor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/recordio"
)

// APIPath is the agent's executor API endpoint.
const APIPath = "/api/v1/executor"

// callTimeout bounds one non-streaming call (UPDATE, MESSAGE).
const callTimeout = 10 * time.Second

// maxEventSize bounds one event from the agent; a TaskInfo is far smaller.
const maxEventSize = 16 << 20

// transport sends calls to the agent's executor API.
type transport struct {
	url    string
	codec  codec.Codec
	token  string
	client *http.Client
}

func newTransport(cfg Config) *transport {
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Transport: &http.Transport{
			// The agent is reached directly: never through a proxy from the
			// environment, which belongs to the task.
			Proxy:                 nil,
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		}}
	}
	return &transport{
		url:    agentBaseURL(cfg.AgentEndpoint) + APIPath,
		codec:  cfg.Codec,
		token:  cfg.AuthToken,
		client: client,
	}
}

func (t *transport) request(ctx context.Context, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", t.codec.ContentType())
	req.Header.Set("Accept", t.codec.ContentType())
	if t.token != "" {
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	return req, nil
}

// marshal encodes a call with the transport's codec.
func (t *transport) marshal(call *executorpb.Call) ([]byte, error) {
	b, err := t.codec.Marshal(call)
	if err != nil {
		return nil, fmt.Errorf("executor: encode %v call: %w", call.GetType(), err)
	}
	return b, nil
}

// errUndecodable marks an event that could not be decoded; the framing is
// intact, so the stream can go on.
var errUndecodable = errors.New("executor: undecodable event")

// stream is an open subscription: RecordIO-framed events.
type stream struct {
	body  io.ReadCloser
	rd    *recordio.Reader
	codec codec.Codec
}

// subscribe sends an encoded SUBSCRIBE call and returns the event stream. The
// stream lives until ctx ends or the agent closes it.
func (t *transport) subscribe(ctx context.Context, body []byte) (*stream, error) {
	req, err := t.request(ctx, body)
	if err != nil {
		return nil, fmt.Errorf("executor: subscribe: %w", err)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("executor: subscribe to %s: %w", t.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := readSnippet(resp.Body)
		resp.Body.Close()
		return nil, fmt.Errorf("executor: subscribe to %s: %s: %s", t.url, resp.Status, msg)
	}
	evCodec, err := eventCodec(resp.Header, t.codec)
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("executor: subscribe to %s: %w", t.url, err)
	}
	return &stream{
		body:  resp.Body,
		rd:    recordio.NewReader(resp.Body, recordio.WithMaxRecordSize(maxEventSize)),
		codec: evCodec,
	}, nil
}

// eventCodec picks the codec of the events from the answer's headers: its
// Content-Type, or Message-Content-Type when the stream is announced as
// application/recordio. Without either, the request's codec is assumed.
func eventCodec(h http.Header, fallback codec.Codec) (codec.Codec, error) {
	ct := h.Get("Content-Type")
	if ct == "" {
		return fallback, nil
	}
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), codec.ContentTypeRecordIO) {
		mct := h.Get("Message-Content-Type")
		if mct == "" {
			return fallback, nil
		}
		ct = mct
	}
	c, err := codec.ForContentType(ct)
	if err != nil {
		return codec.Codec{}, fmt.Errorf("events: %w", err)
	}
	return c, nil
}

// next reads and decodes the next event.
func (s *stream) next() (*executorpb.Event, error) {
	rec, err := s.rd.ReadRecord()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("executor: agent closed the event stream")
		}
		return nil, fmt.Errorf("executor: read event: %w", err)
	}
	ev := &executorpb.Event{}
	if err := s.codec.Unmarshal(rec, ev); err != nil {
		return nil, fmt.Errorf("%w (%d bytes): %w", errUndecodable, len(rec), err)
	}
	return ev, nil
}

func (s *stream) close() { _ = s.body.Close() }

// post sends a non-streaming call and expects a 2xx answer.
func (t *transport) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := t.request(ctx, body)
	if err != nil {
		return err
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %s", resp.Status, readSnippet(resp.Body))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return nil
}

// readSnippet returns the start of an error answer's body, for messages.
func readSnippet(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 512))
	return strings.TrimSpace(string(b))
}
