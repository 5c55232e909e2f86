package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"strata/dns/records"
)

// mesosDNSURL is what Mesos-DNS' GET /v1/version reports as its URL.
const mesosDNSURL = "https://github.com/mesosphere/mesos-dns"

// HostRecord is one entry of GET /v1/hosts/{host}.
type HostRecord struct {
	Host string `json:"host"`
	IP   string `json:"ip"`
}

// ServiceRecord is one entry of GET /v1/services/{service}; Port is a string, as in
// Mesos-DNS.
type ServiceRecord struct {
	Service string `json:"service"`
	Host    string `json:"host"`
	IP      string `json:"ip"`
	Port    string `json:"port"`
}

// AXFR is the body of GET /v1/axfr, Mesos-DNS' models.AXFR: the zone as maps from name to
// values (IPs, or "target:port" for SRV).
type AXFR struct {
	TTL            int32
	Serial         uint32
	RefreshSeconds int
	Mname          string
	Rname          string
	Domain         string
	Records        AXFRRecords
}

// AXFRRecords holds the A, AAAA and SRV records of an AXFR.
type AXFRRecords struct {
	As    map[string][]string
	AAAAs map[string][]string
	SRVs  map[string][]string
}

// HTTPHandler returns Mesos-DNS' HTTP API (reference §8):
//
//	GET /v1/version              {"Service":"Mesos-DNS","Version":...,"URL":...}
//	GET /v1/config               the effective Config (the MesosCredentials secret masked)
//	GET /v1/hosts/{host}         [{"host","ip"}] from A and AAAA; unknown: [{"host":"","ip":""}]
//	GET /v1/hosts/{host}/ports   501, as in Mesos-DNS
//	GET /v1/services/{service}   [{"service","host","ip","port"}]; unknown: one empty record
//	GET /v1/enumerate, /v1/axfr  when Config.EnumerationOn
//	GET /metrics                 Prometheus
//	GET /health                  200 once ready, else 503; GET /ping: 200 "pong"
//
// Names are case-insensitive, the trailing dot optional. Until the server is ready, the
// record endpoints answer 503 (Mesos-DNS does not listen before its first load).
func (s *Server) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/version", s.httpVersion)
	mux.HandleFunc("GET /v1/config", s.httpConfig)
	mux.HandleFunc("GET /v1/hosts/{host}", s.whenReady(s.httpHosts))
	mux.HandleFunc("GET /v1/hosts/{host}/ports", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "To be implemented...", http.StatusNotImplemented)
	})
	mux.HandleFunc("GET /v1/services/{service}", s.whenReady(s.httpServices))
	if s.cfg.EnumerationOn {
		mux.HandleFunc("GET /v1/enumerate", s.whenReady(func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, s.set.Enumerate())
		}))
		mux.HandleFunc("GET /v1/axfr", s.whenReady(s.httpAXFR))
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		if !s.Ready() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("pong\n"))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) whenReady(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.Ready() {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"message": "records not loaded yet"})
			return
		}
		h(w, r)
	}
}

func (s *Server) httpVersion(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"Service": "Mesos-DNS", "Version": s.version, "URL": mesosDNSURL})
}

func (s *Server) httpConfig(w http.ResponseWriter, _ *http.Request) {
	c := s.cfg.redacted()
	c.SOASerial = s.serial.get(s.set)
	writeJSON(w, http.StatusOK, c)
}

// queryName cleans a name from a URL as Mesos-DNS does: lower case, ".*" fragments
// removed, a trailing dot added.
func queryName(name string) string {
	name = strings.ReplaceAll(strings.ToLower(name), ".*", "")
	return records.CanonicalName(name)
}

func (s *Server) httpHosts(w http.ResponseWriter, r *http.Request) {
	name := queryName(r.PathValue("host"))
	a, aaaa := s.set.A(name), s.set.AAAA(name)
	out := make([]HostRecord, 0, len(a)+len(aaaa))
	for _, ip := range a {
		out = append(out, HostRecord{Host: name, IP: ip.String()})
	}
	for _, ip := range aaaa {
		out = append(out, HostRecord{Host: name, IP: ip.String()})
	}
	if len(out) == 0 {
		out = append(out, HostRecord{})
	}
	writeJSON(w, http.StatusOK, out)
}

// httpServices lists, for each SRV value, the target's first A and first AAAA address;
// "service" is the name as the client wrote it (Mesos-DNS' behaviour).
func (s *Server) httpServices(w http.ResponseWriter, r *http.Request) {
	service := r.PathValue("service")
	srvs := s.set.SRV(queryName(service))
	out := make([]ServiceRecord, 0, len(srvs))
	for _, v := range srvs {
		port := strconv.Itoa(int(v.Port))
		if a := s.set.A(v.Target); len(a) > 0 {
			out = append(out, ServiceRecord{Service: service, Host: v.Target, IP: a[0].String(), Port: port})
		}
		if aaaa := s.set.AAAA(v.Target); len(aaaa) > 0 {
			out = append(out, ServiceRecord{Service: service, Host: v.Target, IP: aaaa[0].String(), Port: port})
		}
	}
	if len(out) == 0 {
		out = append(out, ServiceRecord{})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) httpAXFR(w http.ResponseWriter, _ *http.Request) {
	recs := AXFRRecords{As: map[string][]string{}, AAAAs: map[string][]string{}, SRVs: map[string][]string{}}
	for _, rec := range s.set.Records() {
		var m map[string][]string
		switch rec.Type {
		case records.TypeA:
			m = recs.As
		case records.TypeAAAA:
			m = recs.AAAAs
		case records.TypeSRV:
			m = recs.SRVs
		default:
			continue
		}
		m[rec.Name] = append(m[rec.Name], rec.Value())
	}
	writeJSON(w, http.StatusOK, AXFR{
		TTL: s.cfg.TTL, Serial: s.serial.get(s.set), RefreshSeconds: s.cfg.RefreshSeconds,
		Mname: s.cfg.SOAMname, Rname: s.cfg.SOARname, Domain: s.cfg.Domain, Records: recs,
	})
}
