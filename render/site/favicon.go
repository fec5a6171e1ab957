package site

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"sync"
)

// FaviconFile is the site's icon. Browsers ask every origin for
// /favicon.ico when a page names no icon (render's pages name none), and log
// the 404 as an error in the console; a site served from its own origin
// therefore carries one. The index and tag pages link it relatively.
const FaviconFile = "favicon.ico"

// favicon is a 16×16 icon of three bars, drawn here so the output is
// repeatable byte for byte: an ICO file holding one PNG image.
var favicon = sync.OnceValue(func() []byte {
	const size = 16
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	bar := color.NRGBA{0x05, 0x50, 0xae, 0xff} // render's link colour
	for i, h := range []int{7, 12, 4} {
		for x := 2 + 4*i; x < 5+4*i; x++ {
			for y := size - 1 - h; y < size-1; y++ {
				img.SetNRGBA(x, y, bar)
			}
		}
	}
	var p bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		panic(err) // an in-memory image always encodes
	}
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	le([3]uint16{0, 1, 1})                         // reserved, type icon, one image
	le([4]uint8{size, size, 0, 0})                 // width, height, no palette, reserved
	le([2]uint16{1, 32})                           // colour planes, bits per pixel
	le([2]uint32{uint32(p.Len()), uint32(6 + 16)}) // image size, offset
	b.Write(p.Bytes())
	return b.Bytes()
})
