package schedule

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"
)

// Run ids look like Metronome's ("20160614133813ap8ZQ"): the UTC time as
// yyyyMMddHHmmss followed by five characters. Metronome draws the five at
// random; here they are lowercase letters and digits derived from a SHA-256
// of the job id and the time, so the same job and tick always give the same
// id and a new leader re-deriving a run it already launched finds it by id
// instead of launching it again.

const runIDAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz"

// RunID returns the id of the run of jobID for the scheduled tick.
func RunID(jobID string, tick time.Time) string {
	return runID("tick", jobID, tick, "")
}

// ManualRunID returns the id of the n-th run of jobID started by hand at
// time at. Scheduled and manual ids are hashed in different domains, so a
// manual run never takes the id of a tick in the same second.
func ManualRunID(jobID string, at time.Time, n int) string {
	return runID("manual", jobID, at, strconv.Itoa(n))
}

func runID(domain, jobID string, t time.Time, extra string) string {
	h := sha256.New()
	// Seconds and nanoseconds rather than UnixNano, which overflows
	// outside 1678-2262.
	var ns [12]byte
	binary.BigEndian.PutUint64(ns[:8], uint64(t.Unix()))
	binary.BigEndian.PutUint32(ns[8:], uint32(t.Nanosecond()))
	for _, part := range [][]byte{[]byte(domain), []byte(jobID), ns[:], []byte(extra)} {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(part)))
		h.Write(l[:]) // length-prefixed, so no two inputs collide by concatenation
		h.Write(part)
	}
	v := binary.BigEndian.Uint64(h.Sum(nil))
	suffix := make([]byte, 5)
	for i := range suffix {
		suffix[i] = runIDAlphabet[v%36]
		v /= 36
	}
	return t.UTC().Format("20060102150405") + string(suffix)
}
