// Package fetcher downloads a task's CommandInfo.uris into its sandbox, with
// the semantics of the Mesos fetcher.
//
// Each URI is fetched in order, and the first failure aborts the fetch (the
// agent then fails the task). Supported sources:
//   - http:// and https:// URLs (redirects followed, a 200 answer required,
//     an overall timeout, a stall timeout and a size limit);
//   - file:// URLs and absolute local paths on the agent host (copied).
//
// Other schemes (hdfs://, s3://, ftp://, ...), which Mesos hands to a Hadoop
// client, and relative paths, which Mesos resolves against the agent's
// --frameworks_home, are rejected with a clear error.
//
// The file is named after URI.OutputFile when set (a relative path that must
// stay inside the sandbox; missing directories are created), and otherwise
// after the last element of the URL path, without the query. An Executable
// URI is made mode 0755 and never extracted. Otherwise, when Extract is set
// and the name ends in .tar, .tar.gz/.tgz, .tar.bz2/.tbz2/.tbz, .tar.xz/.txz
// or .zip, the archive is unpacked into the sandbox directory (the archive
// itself is kept); a name ending in .gz alone is decompressed into the
// sandbox under its name without .gz.
//
// Extraction is hardened against hostile archives: entries with absolute
// names or ".." elements are rejected, as are symlinks (and hard links) that
// point outside the sandbox, checked once more over the whole sandbox after
// extraction, since a later entry can change what an earlier link resolves
// to. Every write goes through an os.Root, so even a transient symlink cannot
// redirect a write outside the sandbox. The total number of bytes and of
// entries extracted per archive is capped (Options.MaxExtractBytes,
// Options.MaxExtractEntries). Device nodes and FIFOs are skipped, setuid and
// setgid bits dropped, and ownership from the archive ignored: files belong
// to the user running the fetch, so the caller chowns the sandbox to the task
// user afterwards (Mesos runs its fetcher as the task user instead).
//
// URI.Cache is accepted and ignored: every URI is fetched straight into the
// sandbox, as Mesos does with the cache disabled, and a log line says so.
//
// A human log line per step goes to Options.Log (the agent passes the
// sandbox's stderr), worded like the Mesos fetcher's: "Fetching URI '...'",
// "Fetched '...' to '...'", "Extracted '...' into '...'".
package fetcher
