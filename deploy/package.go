package deploy

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// PackageOptions configure Package.
type PackageOptions struct {
	// Main is the main package to build, as go build takes it (e.g.
	// "./examples/orders"), relative to Dir. Required.
	Main string
	// Dir is the directory go build runs in (the module's); default ".".
	Dir string
	// Out is the zip to write; default "bootstrap.zip" in Dir.
	Out string
	// Arch is the GOARCH: ArchARM64 (default, "arm64"), ArchX8664 (built
	// as amd64), or any GOARCH (e.g. runtime.GOARCH to run it here).
	Arch string
	// BootstrapDir, when set, keeps the built executable there as
	// "bootstrap" (for the Lambda Runtime Interface Emulator, say);
	// otherwise it is built in a temporary directory and removed.
	BootstrapDir string
	// Go is the go command; default "go".
	Go string
	// Stderr receives the build's output; nil keeps it for the error.
	Stderr io.Writer
}

// PackageResult describes a built package.
type PackageResult struct {
	// Zip is the path of the zip; Bootstrap the executable's path when
	// BootstrapDir was set.
	Zip, Bootstrap string
	// ZipBytes and BootstrapBytes are their sizes.
	ZipBytes, BootstrapBytes int64
	// SHA256 is the zip's hex digest (reproducible: the entry's time is
	// fixed).
	SHA256 string
	// BuildTime is how long go build took.
	BuildTime time.Duration
}

// BuildError is a failed go build, with its output.
type BuildError struct {
	Err    error
	Output string
}

// Error implements error.
func (e *BuildError) Error() string {
	return fmt.Sprintf("deploy: go build: %v\n%s", e.Err, e.Output)
}

// Unwrap returns the command's error.
func (e *BuildError) Unwrap() error { return e.Err }

// zipTime is the time of the zip's entry, fixed so that the same binary
// gives the same zip (and the same S3 key when keyed by digest).
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Package builds the Lambda deployment package of a service: the main
// package built as "bootstrap" for linux/Arch with CGO_ENABLED=0, the tags
// lambda.norpc (aws-lambda-go without its net/rpc code, which the
// provided runtimes never use) and a trimmed binary (-trimpath, -ldflags
// "-s -w": no symbol table, no DWARF, no local paths), zipped alone with
// mode 0755.
func Package(ctx context.Context, o PackageOptions) (PackageResult, error) {
	var res PackageResult
	if o.Main == "" {
		return res, errors.New("deploy: package: Main is required")
	}
	if o.Dir == "" {
		o.Dir = "."
	}
	if o.Out == "" {
		o.Out = filepath.Join(o.Dir, "bootstrap.zip")
	}
	switch o.Arch {
	case "":
		o.Arch = "arm64"
	case ArchX8664:
		o.Arch = "amd64"
	}
	if o.Go == "" {
		o.Go = "go"
	}
	dir := o.BootstrapDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "stepcqrs-package-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	bin, err := filepath.Abs(filepath.Join(dir, "bootstrap"))
	if err != nil {
		return res, err
	}
	cmd := exec.CommandContext(ctx, o.Go, "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", bin, o.Main)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+o.Arch, "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if o.Stderr != nil {
		cmd.Stdout, cmd.Stderr = o.Stderr, o.Stderr
	}
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return res, &BuildError{Err: err, Output: out.String()}
	}
	res.BuildTime = time.Since(start)
	body, err := os.ReadFile(bin)
	if err != nil {
		return res, err
	}
	res.BootstrapBytes = int64(len(body))
	if o.BootstrapDir != "" {
		res.Bootstrap = bin
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	h := &zip.FileHeader{Name: "bootstrap", Method: zip.Deflate, Modified: zipTime}
	h.SetMode(0o755)
	w, err := zw.CreateHeader(h)
	if err == nil {
		_, err = w.Write(body)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return res, fmt.Errorf("deploy: package: zip: %w", err)
	}
	if err := os.WriteFile(o.Out, zb.Bytes(), 0o644); err != nil {
		return res, fmt.Errorf("deploy: package: %w", err)
	}
	sum := sha256.Sum256(zb.Bytes())
	res.Zip, res.ZipBytes, res.SHA256 = o.Out, int64(zb.Len()), hex.EncodeToString(sum[:])
	return res, nil
}
