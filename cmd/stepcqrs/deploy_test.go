package main

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/stepcqrs/stepcqrs/core"
	"github.com/stepcqrs/stepcqrs/deploy"
)

// TestDeployTemplate: the CLI prints what deploy.New renders, in JSON and
// YAML, from its flags.
func TestDeployTemplate(t *testing.T) {
	ctx := context.Background()
	var out, errOut strings.Builder
	args := []string{"deploy", "template", "--app", "shop", "--module", "order", "--module", "product", "--env", "prod",
		"--code-s3", "s3://artifacts/shop/abc.zip", "--memory", "1024", "--timeout", "30s", "--log-level", "ALL"}
	if err := run(ctx, args, nil, &out, &errOut); err != nil {
		t.Fatalf("%v (%s)", err, errOut.String())
	}
	tp, err := deploy.New(deploy.Options{Config: core.Config{AppName: "shop", Env: "prod"}, Modules: []string{"order", "product"},
		Function:      deploy.Function{Code: deploy.Code{S3Bucket: "artifacts", S3Key: "shop/abc.zip"}, MemoryMB: 1024, Timeout: 30e9},
		StateMachines: deploy.StateMachines{LogLevel: "ALL"}})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tp.JSON()
	if strings.TrimSpace(out.String()) != strings.TrimSpace(string(want)) {
		t.Fatalf("CLI template differs from deploy.New's")
	}
	file := filepath.Join(t.TempDir(), "template.yaml")
	if err := run(ctx, append(args, "--format", "yaml", "--out", file), nil, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	fn := doc["Resources"].(map[string]any)["Function"].(map[string]any)["Properties"].(map[string]any)
	if fn["MemorySize"] != 1024 || fn["Code"].(map[string]any)["S3Key"] != "shop/abc.zip" {
		t.Fatalf("YAML function: %v", fn)
	}
	for _, bad := range [][]string{
		{"deploy", "template", "--app", "shop", "--module", "order", "--format", "xml"},
		{"deploy", "template", "--app", "shop", "--module", "order", "--code-s3", "artifacts/abc.zip"},
		{"deploy", "template", "--app", "shop", "--module", "order", "--code", "a.zip", "--code-s3", "s3://b/k"},
		{"deploy", "package"},
		{"deploy", "package", "./x", "--arch", "riscv"},
	} {
		var o, e strings.Builder
		if code := execute(ctx, bad, nil, &o, &e); code != 2 {
			t.Errorf("%v: status %d, want 2 (%s)", bad, code, e.String())
		}
	}
	var o, e strings.Builder
	if code := execute(ctx, []string{"deploy", "template", "--module", "order"}, nil, &o, &e); code != 1 || !strings.Contains(e.String(), "AppName is required") {
		t.Errorf("no --app: status %d, %q", code, e.String())
	}
}

// TestDeployPackage builds a small main package for arm64 and checks the
// zip: one executable entry "bootstrap", an ELF for aarch64.
func TestDeployPackage(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module tiny\n\ngo 1.24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() { println(\"bootstrap\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	var out, errOut strings.Builder
	if err := run(context.Background(), []string{"deploy", "package", ".", "--out", "fn.zip"}, nil, &out, &errOut); err != nil {
		t.Fatalf("%v (%s)", err, errOut.String())
	}
	if !regexp.MustCompile(`^fn\.zip: [0-9.]+ MB \(bootstrap [0-9.]+ MB, linux/arm64\) sha256 [0-9a-f]{64}\n$`).MatchString(out.String()) {
		t.Errorf("output %q", out.String())
	}
	zr, err := zip.OpenReader("fn.zip")
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 {
		t.Fatalf("zip entries %v", zr.File)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != elf.EM_AARCH64 || f.Section(".symtab") != nil {
		t.Errorf("bootstrap: machine %v, symbol table %v (want aarch64, stripped)", f.Machine, f.Section(".symtab") != nil)
	}
}

// TestDeployGuideCommands runs the `stepcqrs deploy` command lines of
// docs/deploy.md (with their output into a temporary directory): the
// guide shows only command lines that work.
func TestDeployGuideCommands(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "stepcqrs deploy template") {
			continue
		}
		args := strings.Fields(strings.TrimSuffix(line, "\\"))[1:]
		for i, a := range args {
			if a == "--out" && i+1 < len(args) {
				args[i+1] = filepath.Join(t.TempDir(), filepath.Base(args[i+1]))
			}
		}
		var out, errOut strings.Builder
		if err := run(context.Background(), args, nil, &out, &errOut); err != nil {
			t.Errorf("docs/deploy.md: %s: %v", line, err)
		}
		if out.Len() > 0 && !json.Valid([]byte(out.String())) && !strings.HasPrefix(out.String(), "AWSTemplateFormatVersion") {
			t.Errorf("docs/deploy.md: %s printed neither JSON nor YAML", line)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no `stepcqrs deploy template` command line found in docs/deploy.md")
	}
}
