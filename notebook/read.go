package notebook

import (
	"errors"
	"io/fs"

	"github.com/benchbook/benchbook/internal/inputfile"
)

// MaxFileSize is the largest notebook benchbook reads: 16 MiB, a thousand
// times a long notebook of prose and cells, and little enough that reading
// one file by mistake (a log, an image named .toml) costs nothing.
const MaxFileSize = 16 << 20

// ReadFile returns the content of a notebook file. It reads only a regular
// file (after following symlinks) of at most MaxFileSize bytes, and never
// blocks: a named pipe, a device or a huge file is an error that names it.
// Everything that reads a notebook from disk reads it here. The error is an
// *Error without a position, wrapping the cause (errors.Is(err,
// fs.ErrNotExist) holds for a missing file).
func ReadFile(path string) ([]byte, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return data, nil
}

func readFile(path string) ([]byte, *Error) {
	data, err := inputfile.Read(path, MaxFileSize, "a notebook")
	if err == nil {
		return data, nil
	}
	msg := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		msg = pe.Err.Error()
		if !errors.Is(err, inputfile.ErrNotRegular) && !errors.Is(err, inputfile.ErrTooLarge) {
			msg = "cannot read: " + msg
		}
	}
	return nil, &Error{File: path, Msg: msg, Err: err}
}
