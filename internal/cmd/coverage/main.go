// Command coverage counts the operations of the Power BI REST API contract
// (internal/spec) that package powerbi has a method for. It reads the
// package's source, not the generator's output list: an operation counts
// when a method of the service its ID names (Reports_GetReport: ReportsService,
// or the service the overlay gives it) has the operation's name and carries
// the operation's HTTP method and path on a line of its doc comment.
//
//	go run ./internal/cmd/coverage            # a summary
//	go run ./internal/cmd/coverage -markdown  # the README's table
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/gopowerbi/powerbi/internal/spec"
)

func main() {
	dir := flag.String("dir", ".", "the directory of package powerbi")
	markdown := flag.Bool("markdown", false, "print the table of services for the README")
	flag.Parse()
	if err := run(os.Stdout, *dir, *markdown); err != nil {
		fmt.Fprintln(os.Stderr, "coverage:", err)
		os.Exit(1)
	}
}

// method is a method of the package: its receiver's service and the HTTP
// method and path its doc comment names.
type method struct{ service, name, route string }

func run(out io.Writer, dir string, markdown bool) error {
	sw, err := spec.Load()
	if err != nil {
		return err
	}
	b, _ := spec.Overlay()
	var ov struct {
		Operations map[string]struct{ Service, Name string } `json:"operations"`
	}
	if err := json.Unmarshal(b, &ov); err != nil {
		return err
	}
	methods, err := parseMethods(dir)
	if err != nil {
		return err
	}
	type count struct{ ops, covered int }
	byService := map[string]*count{}
	var missing []string
	var stable, stableCovered, preview, previewCovered int
	for _, op := range sw.Operations {
		service, name, _ := strings.Cut(op.ID, "_")
		if op.Preview() {
			name = name[strings.Index(name, "_")+1:]
		}
		if o := ov.Operations[op.ID]; o.Service != "" || o.Name != "" {
			service, name = firstNonEmpty(o.Service, service), firstNonEmpty(o.Name, name)
		}
		want := method{service + "Service", name, op.Method + " " + op.Path}
		c := byService[service]
		if c == nil {
			c = &count{}
			byService[service] = c
		}
		c.ops++
		ok := methods[want]
		if ok {
			c.covered++
		} else {
			missing = append(missing, fmt.Sprintf("%s (%s.%s, %s)", op.ID, service, name, want.route))
		}
		if op.Preview() {
			preview++
			if ok {
				previewCovered++
			}
		} else {
			stable++
			if ok {
				stableCovered++
			}
		}
	}
	if markdown {
		names := make([]string, 0, len(byService))
		for s := range byService {
			names = append(names, s)
		}
		sort.Strings(names)
		fmt.Fprintln(out, "| service | operations | with a method |")
		fmt.Fprintln(out, "|---|---|---|")
		for _, s := range names {
			fmt.Fprintf(out, "| `client.%s` | %d | %d |\n", s, byService[s].ops, byService[s].covered)
		}
		fmt.Fprintf(out, "| **all** | **%d** | **%d** |\n", stable+preview, stableCovered+previewCovered)
		return nil
	}
	fmt.Fprintf(out, "%d of %d non-preview operations have a method\n", stableCovered, stable)
	fmt.Fprintf(out, "%d of %d preview operations (Goals, Scorecards) are reachable\n", previewCovered, preview)
	for _, m := range missing {
		fmt.Fprintln(out, "missing:", m)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%d operations have no method", len(missing))
	}
	return nil
}

// parseMethods reads the methods of the package's services, each with the
// route its doc comment names ("\tGET /v1.0/myorg/...").
func parseMethods(dir string) (map[method]bool, error) {
	pkgs, err := parser.ParseDir(token.NewFileSet(), dir, func(fi os.FileInfo) bool {
		return !strings.HasSuffix(fi.Name(), "_test.go")
	}, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	out := map[method]bool{}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Recv == nil || fn.Doc == nil {
					continue
				}
				star, ok := fn.Recv.List[0].Type.(*ast.StarExpr)
				if !ok {
					continue
				}
				recv, ok := star.X.(*ast.Ident)
				if !ok || !strings.HasSuffix(recv.Name, "Service") {
					continue
				}
				for _, line := range strings.Split(fn.Doc.Text(), "\n") {
					if fields := strings.Fields(line); len(fields) == 2 && strings.HasPrefix(fields[1], "/v1.0/") {
						out[method{recv.Name, fn.Name.Name, fields[0] + " " + fields[1]}] = true
					}
				}
			}
		}
	}
	return out, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
