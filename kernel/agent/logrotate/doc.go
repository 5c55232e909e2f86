// Package logrotate caps the size of sandbox output files (stdout and
// stderr of executors and of the default executor's tasks) by rotating them,
// because unbounded sandbox logs are how Mesos users' disks filled up
// (reference pain point 6).
//
// A Rotator sweeps the sandboxes it was given every Interval. When a file is
// larger than MaxSize it is rotated the way logrotate numbers files — the
// current content goes to NAME.1, NAME.1 to NAME.2, and so on, and files
// beyond Keep are deleted — while the writers (the executor and the task,
// which hold the file open with O_APPEND and never learn of the rotation)
// keep appending to NAME.
//
// The head of the file is removed in place with fallocate(2)
// FALLOC_FL_COLLAPSE_RANGE after it was copied: the kernel does that under
// the inode lock, so an append racing with the rotation is never lost, and
// nothing has to reopen the file. Collapsing works in whole filesystem
// blocks, so up to one block (and whatever was appended during the copy)
// stays in NAME. On filesystems without collapse support (tmpfs, or ext4
// without extents) the rotator falls back to logrotate's copytruncate: copy,
// then truncate to zero, which can lose what is appended between the two.
//
// The cap is checked every Interval, so a file can exceed MaxSize by what is
// written in one interval before it is rotated.
package logrotate
