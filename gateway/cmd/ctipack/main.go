// Command ctipack packs the extension into dist/crmcti-extension-<version>.zip.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"crmcti/gateway/extpack"
)

func main() {
	root := flag.String("root", ".", "repository root holding manifest.json and extension/")
	out := flag.String("out", "dist", "output directory")
	flag.Parse()
	if err := run(*root, *out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(root, outDir string) error {
	m, err := extpack.ReadManifest(root)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	name := filepath.Join(outDir, fmt.Sprintf("crmcti-extension-%s.zip", m.Version))
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := extpack.Pack(root, f); err != nil {
		f.Close()
		os.Remove(name)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Println(name)
	return nil
}
