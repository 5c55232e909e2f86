// Package recordio implements the RecordIO framing used by the Mesos v1
// streaming APIs (scheduler, executor and operator subscriptions, and the
// agent's streaming calls).
//
// A stream is a sequence of records. Each record is the length of its
// payload written as an unsigned decimal number, a single newline, and then
// exactly that many payload bytes:
//
//	5\nhello12\n{"type":"X"}
//
// No separator follows the payload, a length of zero is not allowed, and the
// records are independent of the transport's chunking: a record may be split
// across many reads, and one read may carry many records.
//
// Writer frames payloads and flushes after every record when the underlying
// writer can be flushed (an http.ResponseWriter with chunked encoding, a
// bufio.Writer), so that every event reaches the client at once.
//
// Reader parses a stream from any io.Reader. It is written for input that is
// not trusted: it rejects malformed or zero lengths and lengths above a
// configurable limit, and it never allocates the announced size up front; the
// record buffer grows only as payload bytes actually arrive.
package recordio
