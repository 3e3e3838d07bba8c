// Command gen writes the Power BI REST API's services, models and enums
// (the *_gen.go files of package powerbi) from the contract in internal/spec
// and its overlay. Run it with go generate ./... from the repository root.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gopowerbi/powerbi/internal/spec"
)

func main() {
	out := flag.String("out", ".", "the directory of package powerbi")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(out string) error {
	sw, err := spec.Load()
	if err != nil {
		return err
	}
	b, err := spec.Overlay()
	if err != nil {
		return err
	}
	var ov overlay
	if err := json.Unmarshal(b, &ov); err != nil {
		return fmt.Errorf("overlay.json: %w", err)
	}
	m, err := build(sw, &ov)
	if err != nil {
		return err
	}
	return m.write(filepath.Clean(out))
}
