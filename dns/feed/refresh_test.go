package feed

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"strata/dns/records"
)

// TestFeedRefreshRepairs: with Refresh set the feed renews its subscription periodically, and
// the new snapshot replaces records that no event would have corrected (here a record the
// test planted in the Set behind the feed's back).
func TestFeedRefreshRepairs(t *testing.T) {
	m := startMaster(t, t.TempDir(), listen(t, "127.0.0.1:0"), nil)
	tf := startFeed(t, Config{Masters: []string{m.addr}, Refresh: 300 * time.Millisecond})
	tf.waitReady(10 * time.Second)
	tf.set.UpsertFramework(records.Framework{ID: "ghost", Name: "ghost", Hostname: "10.9.9.9"})
	if !tf.set.Exists("ghost.mesos.") {
		t.Fatal("the planted record is not there")
	}
	waitFor(t, 10*time.Second, "a refresh to drop the planted record", func() bool { return !tf.set.Exists("ghost.mesos.") })
	waitFor(t, 10*time.Second, "a second refresh", func() bool { return tf.counter("strata_dns_feed_refreshes_total") >= 2 })
	if !resolves(tf.set, "leader.mesos.", "127.0.0.1") {
		t.Errorf("leader.mesos. = %v after refreshes, want 127.0.0.1", tf.set.A("leader.mesos."))
	}
	if got := tf.counter("strata_dns_feed_reconnects_total"); got != 0 {
		t.Errorf("reconnects = %v, want 0: a refresh is not a lost stream", got)
	}
}

// TestFeedHTTPSAndBasicAuth reaches a master through an HTTPS proxy that demands basic
// authentication, as a master run with TLS and authentication would (Mesos-DNS' MesosHTTPSOn
// and mesosAuthentication "basic"); wrong credentials never load.
func TestFeedHTTPSAndBasicAuth(t *testing.T) {
	m := startMaster(t, t.TempDir(), listen(t, "127.0.0.1:0"), nil)
	target, err := url.Parse("http://" + m.addr)
	if err != nil {
		t.Fatal(err)
	}
	var denied, served atomic.Int32
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }, FlushInterval: -1}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "strata-dns" || pass != "s3cret" {
			denied.Add(1)
			w.Header().Set("WWW-Authenticate", `Basic realm="mesos"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		served.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	proxyAddr := srv.Listener.Addr().String()

	tf := startFeed(t, Config{Masters: []string{proxyAddr}, Scheme: "https", HTTPClient: srv.Client(),
		Principal: "strata-dns", Secret: "s3cret"})
	tf.waitReady(10 * time.Second)
	if !resolves(tf.set, "leader.mesos.", "127.0.0.1") {
		t.Errorf("leader.mesos. = %v, want 127.0.0.1", tf.set.A("leader.mesos."))
	}
	if served.Load() == 0 || denied.Load() != 0 {
		t.Errorf("proxy served %d and denied %d calls, want some served and none denied", served.Load(), denied.Load())
	}

	wrong := startFeed(t, Config{Masters: []string{proxyAddr}, Scheme: "https", HTTPClient: srv.Client(),
		Principal: "strata-dns", Secret: "wrong", MaxBackoff: 200 * time.Millisecond})
	waitFor(t, 10*time.Second, "the wrong credentials to be refused twice", func() bool {
		return wrong.counter("strata_dns_feed_reconnects_total") >= 2
	})
	select {
	case <-wrong.Ready():
		t.Error("a feed with the wrong secret loaded records")
	default:
	}
}
