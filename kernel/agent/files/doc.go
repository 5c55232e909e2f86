// Package files serves the agent's /files endpoints (browse, read, download,
// debug) over a set of attached directories, the way Mesos does, without
// ever letting a request reach a file outside them.
//
// The agent attaches every executor sandbox twice: under its real host path
// (which tools read from /state's `directory`) and under the virtual path
// /frameworks/<fid>/executors/<eid>/runs/latest. A request path is cleaned
// lexically first (so ".." can never climb above the root), then matched
// against the attached names by longest prefix; the rest of the path is
// joined to the attached directory, every symlink is resolved, and the result
// must still lie inside the (resolved) attached directory. Otherwise:
//
//	unknown or missing path      404
//	symlink leading outside      403
//	missing or malformed params  400
//
// read answers {"data": "<text>", "offset": N}. offset=-1 (the default)
// returns no data and the file's size as offset, which is how the web UI's
// pager starts; other negative offsets or lengths are rejected with 400; a
// read returns at most 16 pages (64 KiB with 4 KiB pages); an offset at or
// past the end returns no data and the size.
package files
