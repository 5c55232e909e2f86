package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"strata/dns/records"
)

func newHTTP(t *testing.T, cfg Config, opts Options) (*testServer, *httptest.Server) {
	t.Helper()
	s := startServer(t, cfg, opts)
	h := httptest.NewServer(s.HTTPHandler())
	t.Cleanup(h.Close)
	return s, h
}

// get fetches path and decodes the JSON body into v (if not nil); it returns the status.
func get(t *testing.T, h *httptest.Server, path string, v any) int {
	t.Helper()
	resp, err := http.Get(h.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode
}

func TestHTTPVersionAndConfig(t *testing.T) {
	_, h := newHTTP(t, testConfig(), Options{Version: "v1.2.3"})
	var v map[string]string
	if code := get(t, h, "/v1/version", &v); code != 200 || v["Service"] != "Mesos-DNS" || v["Version"] != "v1.2.3" ||
		v["URL"] != "https://github.com/mesosphere/mesos-dns" || len(v) != 3 {
		t.Errorf("version %d %v", code, v)
	}

	cfg := testConfig()
	cfg.MesosCredentials = MesosCredentials{Principal: "p", Secret: "s3cret"}
	cfg.Zk = "zk://u:zks3cret@10.0.0.1:2181,10.0.0.2:2181/mesos"
	_, h = newHTTP(t, cfg, Options{})
	var c map[string]any
	if code := get(t, h, "/v1/config", &c); code != 200 {
		t.Fatalf("config %d", code)
	}
	if c["TTL"] != float64(DefaultTTL) || c["HttpPort"] != float64(8123) || c["Domain"] != "mesos" || c["SOAMname"] != "ns1.mesos." {
		t.Errorf("config %v", c)
	}
	if serial, _ := c["SOASerial"].(float64); serial == 0 {
		t.Error("config SOASerial is 0, want the live serial")
	}
	creds, _ := c["MesosCredentials"].(map[string]any)
	if creds["Principal"] != "p" || creds["Secret"] == "s3cret" {
		t.Errorf("credentials %v: the secret must be masked", creds)
	}
	if c["Zk"] != "zk://u:******@10.0.0.1:2181,10.0.0.2:2181/mesos" {
		t.Errorf("Zk %v: the password must be masked", c["Zk"])
	}
}

func TestHTTPHosts(t *testing.T) {
	_, h := newHTTP(t, testConfig(), Options{})
	for _, host := range []string{"web.marathon.mesos", "Web.Marathon.Mesos.", "web.*.marathon.mesos"} {
		var got []HostRecord
		if code := get(t, h, "/v1/hosts/"+url.PathEscape(host), &got); code != 200 {
			t.Fatalf("%s: %d", host, code)
		}
		want := []HostRecord{{"web.marathon.mesos.", "10.0.1.10"}, {"web.marathon.mesos.", "10.0.1.11"}}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", host, got, want)
		}
	}
	var v6 []HostRecord
	get(t, h, "/v1/hosts/v6app.marathon.mesos", &v6)
	if !slices.Equal(v6, []HostRecord{{"v6app.marathon.mesos.", "2001:db8::2"}}) {
		t.Errorf("v6: %v", v6)
	}
	for _, host := range []string{"nope.marathon.mesos", "www.example.com", "%00%ff", "a..b", "..%2f..", strings.Repeat("a", 3000)} {
		var got []HostRecord
		if code := get(t, h, "/v1/hosts/"+host, &got); code != 200 || !slices.Equal(got, []HostRecord{{}}) {
			t.Errorf("%s: %d %v, want [{\"host\":\"\",\"ip\":\"\"}]", host, code, got)
		}
	}
	resp, err := http.Get(h.URL + "/v1/hosts/web.marathon.mesos/ports")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("ports: %d, want 501", resp.StatusCode)
	}
}

func TestHTTPServices(t *testing.T) {
	s, h := newHTTP(t, testConfig(), Options{})
	var got []ServiceRecord
	if code := get(t, h, "/v1/services/_web._tcp.marathon.mesos", &got); code != 200 {
		t.Fatalf("%d", code)
	}
	var want []ServiceRecord
	for _, v := range s.set.SRV("_web._tcp.marathon.mesos.") {
		want = append(want, ServiceRecord{"_web._tcp.marathon.mesos", v.Target, s.set.A(v.Target)[0].String(), itoa(v.Port)})
	}
	if len(want) != 2 || !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	var raw []map[string]any
	get(t, h, "/v1/services/_web._tcp.marathon.mesos", &raw)
	if _, isString := raw[0]["port"].(string); !isString {
		t.Errorf("port is %T, want a string", raw[0]["port"])
	}
	var none []ServiceRecord
	if code := get(t, h, "/v1/services/_nope._tcp.marathon.mesos", &none); code != 200 || !slices.Equal(none, []ServiceRecord{{}}) {
		t.Errorf("unknown: %d %v", code, none)
	}
}

func TestHTTPEnumerateAndAXFR(t *testing.T) {
	s, h := newHTTP(t, testConfig(), Options{})
	var e records.Enumeration
	if code := get(t, h, "/v1/enumerate", &e); code != 200 || len(e.Frameworks) != 1 ||
		e.Frameworks[0].Name != "marathon" || len(e.Frameworks[0].Tasks) != 3+bigApp {
		t.Errorf("enumerate %d %+v", code, e)
	}
	var ax AXFR
	if code := get(t, h, "/v1/axfr", &ax); code != 200 {
		t.Fatalf("axfr %d", code)
	}
	if ax.Domain != "mesos" || ax.Mname != "ns1.mesos." || ax.Rname != "root.ns1.mesos." || ax.TTL != DefaultTTL ||
		ax.RefreshSeconds != 60 || ax.Serial == 0 {
		t.Errorf("axfr header %+v", ax)
	}
	if got := ax.Records.As["web.marathon.mesos."]; !slices.Equal(got, []string{"10.0.1.10", "10.0.1.11"}) {
		t.Errorf("As[web] = %v", got)
	}
	if got := ax.Records.AAAAs["v6app.marathon.mesos."]; !slices.Equal(got, []string{"2001:db8::2"}) {
		t.Errorf("AAAAs[v6app] = %v", got)
	}
	if got := ax.Records.SRVs["_web._tcp.marathon.mesos."]; len(got) != 2 || !strings.HasSuffix(got[0], ".marathon.slave.mesos.:31000") {
		t.Errorf("SRVs[_web._tcp] = %v", got)
	}
	n := 0
	for _, m := range []map[string][]string{ax.Records.As, ax.Records.AAAAs, ax.Records.SRVs} {
		for _, vs := range m {
			n += len(vs)
		}
	}
	if want := len(s.set.Records()); n != want {
		t.Errorf("axfr has %d records, the set %d", n, want)
	}

	cfg := testConfig()
	cfg.EnumerationOn = false
	_, off := newHTTP(t, cfg, Options{})
	for _, p := range []string{"/v1/enumerate", "/v1/axfr"} {
		if code := get(t, off, p, nil); code != http.StatusNotFound {
			t.Errorf("%s with EnumerationOn=false: %d, want 404", p, code)
		}
	}
}

func TestHTTPReadinessAndOps(t *testing.T) {
	s, h := newHTTP(t, testConfig(), Options{Ready: func() bool { return false }})
	if code := get(t, h, "/health", nil); code != http.StatusServiceUnavailable {
		t.Errorf("health before ready: %d", code)
	}
	if code := get(t, h, "/v1/hosts/web.marathon.mesos", nil); code != http.StatusServiceUnavailable {
		t.Errorf("hosts before ready: %d", code)
	}
	if code := get(t, h, "/v1/version", nil); code != 200 {
		t.Errorf("version before ready: %d", code)
	}
	s.SetReady()
	if code := get(t, h, "/health", nil); code != 200 {
		t.Errorf("health after ready: %d", code)
	}
	if code := get(t, h, "/ping", nil); code != 200 {
		t.Errorf("ping: %d", code)
	}
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "strata_dns_queries_total") {
		t.Errorf("metrics %d: %.300s", resp.StatusCode, body)
	}
	resp, err = http.Post(h.URL+"/v1/version", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/version: %d, want 405", resp.StatusCode)
	}
}
