package fetcher

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// maxXzDict bounds the LZMA2 dictionary an .xz archive may ask for. The
// decompressor allocates the dictionary the archive declares (up to 4 GiB),
// so a tiny hostile file could make the agent reserve gigabytes; xz -9 uses
// 64 MiB.
const maxXzDict = 256 << 20

// checkXzDict peeks at the stream header and the first block header of an
// .xz stream and rejects a dictionary larger than maxXzDict. It returns a
// reader that still yields the whole stream. Only the first block is
// inspected: a crafted multi-block stream can still ask for a larger
// dictionary in a later block (memory actually touched stays bounded by the
// data decompressed, which the extraction limits cap).
func checkXzDict(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 12+1024)
	head, err := br.Peek(12 + 1024)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read xz header: %w", err)
	}
	dict, ok := firstXzDict(head)
	if ok && dict > maxXzDict {
		return nil, fmt.Errorf("xz dictionary of %d MiB is over the limit of %d MiB", dict>>20, maxXzDict>>20)
	}
	return br, nil
}

// firstXzDict returns the LZMA2 dictionary size of the first block, if the
// bytes hold a well-formed start of an .xz stream. Malformed input is left
// to the decompressor to reject.
func firstXzDict(b []byte) (int64, bool) {
	const streamHeader = 12
	if len(b) < streamHeader+2 || string(b[:6]) != "\xfd7zXZ\x00" {
		return 0, false
	}
	bh := b[streamHeader:]
	if bh[0] == 0 { // an index: no blocks
		return 0, false
	}
	size := (int(bh[0]) + 1) * 4
	if len(bh) < size {
		return 0, false
	}
	bh = bh[:size-4] // without the CRC32
	flags := bh[1]
	p := 2
	varint := func() (uint64, bool) {
		var v uint64
		for i := 0; i < 9 && p < len(bh); i++ {
			c := bh[p]
			p++
			v |= uint64(c&0x7f) << (7 * i)
			if c&0x80 == 0 {
				return v, true
			}
		}
		return 0, false
	}
	if flags&0x40 != 0 { // compressed size present
		if _, ok := varint(); !ok {
			return 0, false
		}
	}
	if flags&0x80 != 0 { // uncompressed size present
		if _, ok := varint(); !ok {
			return 0, false
		}
	}
	filters := int(flags&0x03) + 1
	for range filters {
		id, ok := varint()
		if !ok {
			return 0, false
		}
		n, ok := varint()
		if !ok || n > uint64(len(bh)-p) {
			return 0, false
		}
		props := bh[p : p+int(n)]
		p += int(n)
		if id == 0x21 && len(props) == 1 { // LZMA2
			return lzma2Dict(props[0]), true
		}
	}
	return 0, false
}

// lzma2Dict decodes the LZMA2 dictionary size property.
func lzma2Dict(code byte) int64 {
	if code >= 40 {
		return 1<<32 - 1
	}
	return int64(2|(code&1)) << (code/2 + 11)
}
