package main

import (
	"path/filepath"
	"strings"
)

func filepathDir(gomod string) string { return filepath.Dir(strings.TrimSpace(gomod)) }
