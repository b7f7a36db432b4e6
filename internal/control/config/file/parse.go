package file

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"

	"github.com/weftmesh/weft/internal/control/config"
)

// Document is one non-empty YAML document of a config file, after parsing. Exactly one
// of Config, Other and Err is set.
type Document struct {
	// Index is the document's position among the file's non-empty documents, from 0.
	Index int
	// Line is the document's first line in the file, from 1.
	Line int
	// Config is a valid Istio object.
	Config *config.Config
	// Other is an object of a kind the store does not serve (Deployment, Service, ...).
	Other *Object
	// Err says why the document was rejected.
	Err *config.ValidationError
	// Raw is the document's text.
	Raw []byte
}

// Object is a Kubernetes-style object of a kind the config store does not serve, such
// as a Deployment or a Service; the local mesh reads them.
type Object struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// Source is "file#index".
	Source string
	// JSON is the whole document, converted to JSON.
	JSON []byte
}

// ParseFile parses the YAML (or JSON) documents of one file. Objects without a
// namespace get defaultNamespace; valid Istio objects are validated with
// config.Validate. The objects' CreationTime is their metadata.creationTimestamp, or
// zero. ResourceVersion is a hash of the object's content.
func ParseFile(file string, data []byte, defaultNamespace string) []Document {
	var out []Document
	for _, raw := range splitDocuments(data) {
		d, ok := parseDocument(raw.data, raw.line, defaultNamespace)
		if !ok {
			continue
		}
		d.Index, d.Line, d.Raw = len(out), raw.line, raw.data
		if d.Err != nil {
			d.Err.File, d.Err.Document, d.Err.Line = file, d.Index, d.Line
		}
		source := fmt.Sprintf("%s#%d", file, d.Index)
		if d.Config != nil {
			d.Config.Source = source
		}
		if d.Other != nil {
			d.Other.Source = source
		}
		out = append(out, d)
	}
	return out
}

// rawDocument is one document of a YAML stream and the line it starts on.
type rawDocument struct {
	line int
	data []byte
}

// splitDocuments splits a YAML stream at "---" lines. A "..." line ends a document.
func splitDocuments(data []byte) []rawDocument {
	var docs []rawDocument
	cur := rawDocument{line: 1}
	lines := bytes.SplitAfter(data, []byte("\n"))
	for i, l := range lines {
		t := strings.TrimRight(string(l), " \t\r\n")
		if t == "---" || strings.HasPrefix(t, "--- ") || t == "..." {
			docs = append(docs, cur)
			cur = rawDocument{line: i + 2}
			if rest := strings.TrimPrefix(t, "--- "); rest != t {
				cur = rawDocument{line: i + 1, data: []byte(rest + "\n")}
			}
			continue
		}
		cur.data = append(cur.data, l...)
	}
	return append(docs, cur)
}

// typeMeta and objectMeta are the Kubernetes object fields the store reads.
type typeMeta struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   objectMeta      `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
}

type objectMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace"`
	Labels            map[string]string `json:"labels"`
	Annotations       map[string]string `json:"annotations"`
	CreationTimestamp string            `json:"creationTimestamp"`
}

// parseDocument parses one document; ok is false for empty documents.
func parseDocument(data []byte, line int, defaultNamespace string) (Document, bool) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return docError(&config.ValidationError{}, "", "invalid YAML: %s", fileLines(err.Error(), line)), true
	}
	js = bytes.TrimSpace(js)
	if len(js) == 0 || string(js) == "null" {
		return Document{}, false
	}
	var tm typeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return docError(&config.ValidationError{}, te.Field, "want %s, got %s (quote values such as yes, no, on, off)", te.Type, te.Value), true
		}
		return docError(&config.ValidationError{}, "", "not a Kubernetes object (a map with apiVersion, kind, metadata and spec)"), true
	}
	if tm.Metadata.Namespace == "" {
		tm.Metadata.Namespace = defaultNamespace
	}
	verr := &config.ValidationError{Kind: config.Kind(tm.Kind), Namespace: tm.Metadata.Namespace, Name: tm.Metadata.Name}
	if tm.APIVersion == "" || tm.Kind == "" {
		return docError(verr, "", "apiVersion and kind are required"), true
	}
	schema, found, unsupported := config.LookupSchema(tm.APIVersion, tm.Kind)
	switch {
	case unsupported != "":
		return docError(verr, "apiVersion", "%s", unsupported), true
	case !found:
		return Document{Other: &Object{APIVersion: tm.APIVersion, Kind: tm.Kind, Name: tm.Metadata.Name,
			Namespace: tm.Metadata.Namespace, JSON: js}}, true
	}
	return buildConfig(schema, tm, verr), true
}

// buildConfig turns a parsed Istio object into a validated Config.
func buildConfig(schema config.Schema, tm typeMeta, verr *config.ValidationError) Document {
	c := &config.Config{Kind: schema.Kind, Name: tm.Metadata.Name, Namespace: tm.Metadata.Namespace,
		Labels: tm.Metadata.Labels, Annotations: tm.Metadata.Annotations}
	if ts := tm.Metadata.CreationTimestamp; ts != "" {
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			return docError(verr, "metadata.creationTimestamp", "%q is not an RFC 3339 time", ts)
		}
		c.CreationTime = t
	}
	if len(tm.Spec) == 0 || string(tm.Spec) == "null" {
		return docError(verr, "spec", "is required")
	}
	spec := schema.New()
	if fe := decodeSpec(tm.Spec, spec); len(fe) > 0 {
		verr.Fields = fe
		return Document{Err: verr}
	}
	c.Spec = spec
	if err := config.Validate(c); err != nil {
		var ve *config.ValidationError
		if errors.As(err, &ve) {
			return Document{Err: ve}
		}
		return docError(verr, "", "%v", err)
	}
	c.ResourceVersion = contentVersion(c)
	return Document{Config: c}
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

// fileLines rewrites the document-relative line numbers of a YAML error ("line 2") as
// lines of the file.
func fileLines(msg string, docLine int) string {
	return yamlLineRE.ReplaceAllStringFunc(msg, func(m string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
		return fmt.Sprintf("line %d", n+docLine-1)
	})
}

// docError returns a Document holding a one-field validation error.
func docError(verr *config.ValidationError, path, format string, args ...any) Document {
	verr.Fields = append(verr.Fields, config.FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
	return Document{Err: verr}
}

// contentVersion hashes what makes an object what it is (identity, labels,
// annotations, spec), so that the version changes exactly when the content does.
func contentVersion(c *config.Config) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", c.Kind, c.Namespace, c.Name)
	for _, m := range []map[string]string{c.Labels, c.Annotations} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "%s=%s\x00", k, m[k])
		}
		h.Write([]byte{1})
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c.Spec)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)[:8])
}
