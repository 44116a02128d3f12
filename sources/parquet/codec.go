package parquet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/pierrec/lz4/v4"
)

// The codecs are registered with arrow-go when the package loads: every
// codec arrow-go brings is wrapped so that an empty page body decodes to
// nothing (a data page v2 whose values are all NULL has an empty value
// section, which arrow-go still hands to the codec, and Snappy, Zstd and
// the others refuse zero bytes), and the legacy LZ4 codec, which arrow-go
// does not decode, is added.
func init() {
	for _, c := range []compress.Compression{
		compress.Codecs.Snappy, compress.Codecs.Gzip, compress.Codecs.Brotli,
		compress.Codecs.Zstd, compress.Codecs.Lz4Raw,
	} {
		inner, err := compress.GetCodec(c)
		if err != nil {
			continue // this arrow-go build lacks the codec; nothing to wrap
		}
		compress.RegisterCodec(c, wrapCodec(c, inner))
	}
	compress.RegisterCodec(compress.Codecs.Lz4, legacyLZ4Codec{})
}

// wrapCodec returns inner with an empty-input guard and errors instead of
// panics on decode, keeping inner's streaming interface when it has one.
func wrapCodec(c compress.Compression, inner compress.Codec) compress.Codec {
	w := emptySafeCodec{name: c.String(), inner: inner}
	if s, ok := inner.(compress.StreamingCodec); ok {
		return streamingEmptySafeCodec{emptySafeCodec: w, stream: s}
	}
	return w
}

// emptySafeCodec decodes an empty input to an empty output and otherwise
// defers to the codec it wraps. Encoding is the wrapped codec's.
type emptySafeCodec struct {
	name  string
	inner compress.Codec
}

// Encode is the wrapped codec's Encode.
func (c emptySafeCodec) Encode(dst, src []byte) []byte { return c.inner.Encode(dst, src) }

// EncodeLevel is the wrapped codec's EncodeLevel.
func (c emptySafeCodec) EncodeLevel(dst, src []byte, level int) []byte {
	return c.inner.EncodeLevel(dst, src, level)
}

// CompressBound is the wrapped codec's CompressBound.
func (c emptySafeCodec) CompressBound(n int64) int64 { return c.inner.CompressBound(n) }

// Decode is DecodeWithError that panics on bad input, as the Codec
// interface asks; arrow-go calls DecodeWithError.
func (c emptySafeCodec) Decode(dst, src []byte) []byte {
	out, err := c.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}

// DecodeWithError decodes src into dst; an empty src is an empty result.
// A panic in the wrapped codec becomes an error.
func (c emptySafeCodec) DecodeWithError(dst, src []byte) (out []byte, err error) {
	if len(src) == 0 {
		return dst[:0], nil
	}
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("%s: corrupt compressed data: %v", c.name, p)
		}
	}()
	// A page body that decodes to nothing but is not empty (brotli's empty
	// stream, for an all-NULL v2 page) goes through a scratch buffer:
	// arrow-go's brotli refuses a destination of size 0.
	expectEmpty := len(dst) == 0
	if expectEmpty {
		dst = nil
	}
	if ec, ok := c.inner.(compress.ErrorCodec); ok {
		out, err = ec.DecodeWithError(dst, src)
	} else {
		out = c.inner.Decode(dst, src)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.name, err)
	}
	if expectEmpty && len(out) != 0 {
		return nil, fmt.Errorf("%s: corrupt compressed data: %d bytes decoded where the page header says 0", c.name, len(out))
	}
	return out, nil
}

// streamingEmptySafeCodec is emptySafeCodec over a codec that also streams;
// the streams are the wrapped codec's (arrow-go streams only pages larger
// than a megabyte, never empty ones).
type streamingEmptySafeCodec struct {
	emptySafeCodec
	stream compress.StreamingCodec
}

// NewReader is the wrapped codec's NewReader.
func (c streamingEmptySafeCodec) NewReader(r io.Reader) io.ReadCloser { return c.stream.NewReader(r) }

// NewWriter is the wrapped codec's NewWriter.
func (c streamingEmptySafeCodec) NewWriter(w io.Writer) io.WriteCloser { return c.stream.NewWriter(w) }

// NewWriterLevel is the wrapped codec's NewWriterLevel.
func (c streamingEmptySafeCodec) NewWriterLevel(w io.Writer, level int) (io.WriteCloser, error) {
	return c.stream.NewWriterLevel(w, level)
}

// lz4FrameMagic starts an LZ4 frame (little-endian 0x184D2204).
var lz4FrameMagic = []byte{0x04, 0x22, 0x4d, 0x18}

// errLZ4Variant is the legacy LZ4 codec's error for a page none of the
// variants decodes.
var errLZ4Variant = errors.New("LZ4 (the deprecated Parquet LZ4 codec): the page decodes neither as Hadoop-framed LZ4, " +
	"nor as an LZ4 frame, nor as a raw LZ4 block of the size its header gives: the file is corrupt or uses an unknown LZ4 variant")

// legacyLZ4Codec decodes the deprecated Parquet LZ4 codec the way Arrow
// C++ does: Hadoop framing first (parquet-mr), then an LZ4 frame, then a
// raw LZ4 block (older Arrow C++). It encodes Hadoop framing.
type legacyLZ4Codec struct{}

// hadoopPrefix is the two big-endian uint32 lengths before a Hadoop block.
const hadoopPrefix = 8

// Encode writes src as one Hadoop-framed LZ4 block.
func (c legacyLZ4Codec) Encode(dst, src []byte) []byte {
	bound := int(c.CompressBound(int64(len(src))))
	if cap(dst) < bound {
		dst = make([]byte, bound)
	}
	dst = dst[:bound]
	var comp lz4.Compressor
	n, err := comp.CompressBlock(src, dst[hadoopPrefix:])
	if err != nil {
		panic(fmt.Errorf("LZ4: compress %d bytes: %w", len(src), err)) // dst is CompressBound long: cannot happen
	}
	binary.BigEndian.PutUint32(dst[0:4], uint32(len(src)))
	binary.BigEndian.PutUint32(dst[4:8], uint32(n))
	return dst[:hadoopPrefix+n]
}

// EncodeLevel is Encode; LZ4 blocks have no levels here.
func (c legacyLZ4Codec) EncodeLevel(dst, src []byte, _ int) []byte { return c.Encode(dst, src) }

// CompressBound is the largest Encode output for n input bytes.
func (legacyLZ4Codec) CompressBound(n int64) int64 {
	return int64(lz4.CompressBlockBound(int(n))) + hadoopPrefix
}

// Decode is DecodeWithError that panics on bad input, as the Codec
// interface asks; arrow-go calls DecodeWithError.
func (c legacyLZ4Codec) Decode(dst, src []byte) []byte {
	out, err := c.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}

// DecodeWithError decodes src into dst, whose length is the page's
// uncompressed size: the result must fill it exactly.
func (legacyLZ4Codec) DecodeWithError(dst, src []byte) ([]byte, error) {
	want := len(dst)
	if len(src) == 0 {
		if want == 0 {
			return dst[:0], nil
		}
		return nil, errLZ4Variant
	}
	if n, ok := decodeHadoopLZ4(dst, src); ok && n == want {
		return dst[:n], nil
	}
	if bytes.HasPrefix(src, lz4FrameMagic) {
		if n, ok := decodeLZ4Frame(dst, src); ok && n == want {
			return dst[:n], nil
		}
	}
	if n, ok := decodeRawLZ4(dst, src); ok && n == want {
		return dst[:n], nil
	}
	return nil, errLZ4Variant
}

// decodeHadoopLZ4 decodes Hadoop's block framing: blocks of [uncompressed
// length][one or more [compressed length][raw LZ4 block]], lengths
// big-endian uint32, until src ends. It reports the bytes written and
// whether src was well formed.
func decodeHadoopLZ4(dst, src []byte) (int, bool) {
	out := 0
	for len(src) > 0 {
		if len(src) < hadoopPrefix {
			return 0, false
		}
		raw := int(binary.BigEndian.Uint32(src))
		src = src[4:]
		if raw > len(dst)-out {
			return 0, false
		}
		end := out + raw
		for first := true; first || out < end; first = false {
			if len(src) < 4 {
				return 0, false
			}
			clen := int(binary.BigEndian.Uint32(src))
			src = src[4:]
			if clen > len(src) {
				return 0, false
			}
			n, ok := decodeRawLZ4(dst[out:end], src[:clen])
			if !ok || (n == 0 && clen > 0 && out < end) {
				return 0, false
			}
			out += n
			src = src[clen:]
			if raw == 0 {
				break
			}
		}
		if out != end {
			return 0, false
		}
	}
	return out, true
}

// decodeLZ4Frame decodes one LZ4 frame into dst; the frame must fill dst
// and end there.
func decodeLZ4Frame(dst, src []byte) (n int, ok bool) {
	defer func() {
		if recover() != nil {
			n, ok = 0, false
		}
	}()
	r := lz4.NewReader(bytes.NewReader(src))
	n, err := io.ReadFull(r, dst)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, false
	}
	var one [1]byte
	if m, err := r.Read(one[:]); m != 0 || (err != nil && !errors.Is(err, io.EOF)) {
		return 0, false // more data than the page holds, or a bad frame end
	}
	return n, true
}

// decodeRawLZ4 decodes one raw LZ4 block into dst.
func decodeRawLZ4(dst, src []byte) (n int, ok bool) {
	defer func() {
		if recover() != nil {
			n, ok = 0, false
		}
	}()
	n, err := lz4.UncompressBlock(src, dst)
	if err != nil {
		return 0, false
	}
	return n, true
}
