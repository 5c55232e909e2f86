package feed

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
)

// This file opens the operator event stream: the SUBSCRIBE call, 307 redirects to the leader,
// the GET_MASTER call that names the leader, and event decoding.

const (
	subscribeCall = `{"type":"SUBSCRIBE"}`
	getMasterCall = `{"type":"GET_MASTER"}`
	// maxRedirects bounds the 307 hops of one attempt (a leader change while following them
	// can take more than one; a loop cannot go on).
	maxRedirects = 4
	// getMasterTimeout bounds the GET_MASTER call that names the leader.
	getMasterTimeout = 5 * time.Second
)

// endpoint is a master's base URL.
type endpoint struct {
	scheme string // http or https
	host   string // host:port
}

func (e endpoint) url() string { return e.scheme + "://" + e.host + "/api/v1" }

// parseMaster accepts "host:port" (given scheme) or "http(s)://host:port".
func parseMaster(s, scheme string) (endpoint, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return endpoint{}, fmt.Errorf("feed: master %q: %w", s, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return endpoint{}, fmt.Errorf("feed: master %q: want host:port or http(s)://host:port", s)
		}
		s = u.Host
		if _, _, err := net.SplitHostPort(s); err != nil {
			return endpoint{}, fmt.Errorf("feed: master %q: %w", s, err)
		}
		return endpoint{scheme: u.Scheme, host: s}, nil
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return endpoint{}, fmt.Errorf("feed: master %q: %w", s, err)
	}
	return endpoint{scheme: scheme, host: s}, nil
}

// stream is an open operator event stream.
type stream struct {
	dialled endpoint // the master the SUBSCRIBE was sent to first
	from    endpoint // the master serving it: the leader
	body    io.ReadCloser
	codec   codec.Codec
	rd      *recordio.Reader
}

// post sends one operator call (a JSON body) to ep and asks for a protobuf answer.
func (f *Feed) post(ctx context.Context, ep endpoint, call string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url(), strings.NewReader(call))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", codec.ContentTypeJSON)
	req.Header.Set("Accept", codec.ContentTypeProtobuf)
	req.Header.Set("User-Agent", "strata-dns")
	if f.cfg.Principal != "" {
		req.SetBasicAuth(f.cfg.Principal, f.cfg.Secret)
	}
	return f.client.Do(req)
}

// open subscribes at the first of cands that leads, or is redirected to one.
func (f *Feed) open(ctx context.Context, cands []endpoint) (*stream, error) {
	var errs []error
	for _, ep := range cands {
		s, err := f.openAt(ctx, ep)
		if err == nil {
			return s, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("feed: subscribe: %w", errors.Join(errs...))
}

// openAt subscribes at ep, following redirects.
func (f *Feed) openAt(ctx context.Context, ep endpoint) (*stream, error) {
	dialled := ep
	for hop := 0; ; hop++ {
		resp, err := f.post(ctx, ep, subscribeCall)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ep.host, err)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			cd, err := codec.ForContentType(resp.Header.Get("Content-Type"))
			if err != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("%s: SUBSCRIBE answer: %w", ep.host, err)
			}
			rd := recordio.NewReader(resp.Body, recordio.WithMaxRecordSize(f.cfg.MaxRecordSize))
			return &stream{dialled: dialled, from: ep, body: resp.Body, codec: cd, rd: rd}, nil
		case http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound,
			http.StatusMovedPermanently, http.StatusSeeOther:
			next, err := redirectTarget(resp)
			discard(resp.Body)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", ep.host, err)
			}
			if hop >= maxRedirects {
				return nil, fmt.Errorf("%s: more than %d redirects", ep.host, maxRedirects)
			}
			f.log.Debug("following redirect to the leader", "from", ep.host, "to", next.host)
			ep = next
		default:
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			discard(resp.Body)
			return nil, fmt.Errorf("%s: SUBSCRIBE: %s: %s", ep.host, resp.Status, strings.TrimSpace(string(msg)))
		}
	}
}

// redirectTarget reads a redirect's Location, usually protocol-relative
// ("//10.0.0.2:5050/api/v1"); only its scheme and host:port are used.
func redirectTarget(resp *http.Response) (endpoint, error) {
	loc := resp.Header.Get("Location")
	if loc == "" {
		return endpoint{}, fmt.Errorf("%s without Location", resp.Status)
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return endpoint{}, fmt.Errorf("redirect Location %q: %w", loc, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return endpoint{}, fmt.Errorf("redirect Location %q names no http(s) host", loc)
	}
	return endpoint{scheme: u.Scheme, host: u.Host}, nil
}

// discard drains a little of a body, so that the connection can be reused, and closes it.
func discard(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4096))
	body.Close()
}

// masterInfo asks ep for its MasterInfo (GET_MASTER). ep serves the stream, so it leads.
func (f *Feed) masterInfo(ctx context.Context, ep endpoint) (*mesospb.MasterInfo, error) {
	ctx, cancel := context.WithTimeout(ctx, getMasterTimeout)
	defer cancel()
	resp, err := f.post(ctx, ep, getMasterCall)
	if err != nil {
		return nil, err
	}
	defer discard(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET_MASTER: %s", resp.Status)
	}
	cd, err := codec.ForContentType(resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("GET_MASTER answer: %w", err)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	r := &masterpb.Response{}
	if err := decode(cd, b, r); err != nil {
		return nil, fmt.Errorf("GET_MASTER answer: %w", err)
	}
	return r.GetGetMaster().GetMasterInfo(), nil
}

// decode decodes one message. Protobuf is decoded leniently (a missing required field does
// not fail a whole event: the conversion treats it as empty); JSON goes through the Mesos
// JSON codec.
func decode(cd codec.Codec, b []byte, m proto.Message) error {
	if cd == codec.Protobuf {
		return proto.UnmarshalOptions{AllowPartial: true, DiscardUnknown: true}.Unmarshal(b, m)
	}
	return cd.Unmarshal(b, m)
}
