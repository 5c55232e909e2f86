// Package server is Strata's Mesos-DNS compatible DNS server and HTTP API
// (/work/shared/reference/mesos-dns.md §6-§10), built on github.com/miekg/dns. It answers
// from a records.Set that another component (dns/feed) keeps current.
//
//	cfg, err := server.LoadConfig(f)                  // a Mesos-DNS config.json
//	set, err := records.New(cfg.RecordsConfig())
//	srv, err := server.New(cfg, set, server.Options{Registerer: reg, Ready: feed.Loaded})
//	go srv.ListenAndServe(ctx)                        // UDP and TCP on listener:port
//	http.ListenAndServe(addr, srv.HTTPHandler())      // /v1/*, /metrics, /health, /ping
//
// Serve takes listeners instead (Listen opens a UDP and a TCP socket on one port, port 0
// included); the Server is also a dns.Handler (ServeDNS) for tests and benchmarks.
//
// # The Mesos domain
//
// The server is authoritative for Config.Domain (default "mesos."), sets AA, and sets RA
// from Config.RecurseOn. It answers A, AAAA, SRV (each target's first A and AAAA in the
// additional section), ANY (all of these) and, at the apex, SOA (mname SOAMname, rname
// SOARname, serial the Unix time at which the current record set version was first seen,
// kept increasing, then SOARefresh, SOARetry, SOAExpire, SOAMinttl) and NS (SOAMname, with
// its addresses as additional records when the set has them). Names are lower-cased before
// lookup and ".*" fragments are stripped (Mesos-DNS' wildcard rule); owner names keep the
// question's spelling. A name without records is NXDOMAIN, a name with records but none of
// the asked type NODATA, both with the SOA in the authority section. Answers are shuffled
// (Mesos-DNS' poor man's load balancing). Every record has TTL Config.TTL (Strata default 5
// s). Until the set has been loaded once (Options.Ready or SetReady) the domain is answered
// SERVFAIL: never from an empty set.
//
// Differences from Mesos-DNS, all documented where they are implemented: SOA and NS are
// answered in the answer section and only at the apex (Config.SOAInAuthority restores
// Mesos-DNS' authority-section answers for any name); the SOA minimum field is SOAMinttl
// (Mesos-DNS writes the TTL there); an unknown SRV name is NXDOMAIN (Mesos-DNS: NOERROR,
// empty); empty non-terminals such as "_tcp.marathon.mesos." are NODATA (Mesos-DNS:
// NXDOMAIN); AXFR/IXFR over DNS are REFUSED (the zone is at /v1/axfr).
//
// # Other names
//
// Names outside the domain go to the resolvers of the longest matching zone of
// Config.ZoneResolvers, else to Config.Resolvers, over the client's transport (a truncated
// UDP answer is asked again over TCP), all within Config.Timeout: the first resolver is asked
// at once, the next when the previous has failed (refused, unreachable, SERVFAIL, REFUSED) or
// has not answered within min(Config.Timeout/number of resolvers, 1 s), the earlier ones
// staying in flight; the first other answer wins. Answers are cached (Config.CacheSize
// entries, LRU, for their smallest TTL, at most an hour; negative answers per RFC 2308, at
// most five minutes). With Config.ExternalOn false, or no upstream for the name, the query is
// REFUSED; when every upstream fails or the timeout runs out, SERVFAIL.
// An empty Config.Resolvers falls back to /etc/resolv.conf's name servers, as in Mesos-DNS,
// leaving out this server itself (Config.WithSystemResolvers).
//
// # Transport
//
// UDP answers are cut to 512 bytes, or to the client's EDNS0 size up to 4096, with TC set
// (unless Config.SetTruncateBit is false); TCP answers are cut only at 64 KiB. Answers are
// compressed. Queries with EDNS0 get an OPT record (DO copied); an EDNS version other than 0
// gets BADVERS. Queries with no or several questions, several OPT records or the QR bit are
// FORMERR; opcodes other than QUERY and classes other than IN and ANY are NOTIMP. miekg/dns
// drops packets it cannot parse.
//
// Successful authoritative answers of four records or more are kept packed, per question
// (name as spelled, type, class, size limit, EDNS0 and DO, TC rule) and record-set version,
// in up to 16 independently shuffled variants; a query is answered with one of them at
// random, its ID and RD/CD bits patched in. Any change to the record set retires them all.
//
// # Metrics
//
// strata_dns_queries_total{qtype,rcode}, strata_dns_forwarded_total{outcome},
// strata_dns_cache_hits_total, strata_dns_cache_misses_total and
// strata_dns_upstream_duration_seconds, strata_dns_answer_cache_total{result}, registered on Options.Registerer (servers sharing a
// registry share the counters).
package server
