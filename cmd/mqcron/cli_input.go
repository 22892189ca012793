package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// readInput returns the contents of path, or of stdin when path is "-".
func readInput(path string, env *cliEnv) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(env.stdin)
	}
	return os.ReadFile(path)
}

// isYAMLName reports whether path names a YAML file by its extension.
func isYAMLName(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".yaml" || ext == ".yml"
}

// readDocument reads one JSON or YAML document from path and returns it
// as JSON text. JSON is returned unchanged, so the API receives exactly
// the file's text. A file named *.yaml or *.yml is always read as YAML.
// Any other file is read as JSON when it is valid JSON and as YAML
// otherwise.
func readDocument(path string, env *cliEnv) ([]byte, error) {
	data, err := readInput(path, env)
	if err != nil {
		return nil, err
	}
	if !isYAMLName(path) && json.Valid(data) {
		return bytes.TrimSpace(data), nil
	}
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s is neither valid JSON nor valid YAML: %w", path, err)
		}
		docs = append(docs, &doc)
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s contains %d YAML documents; give exactly one", path, len(docs))
	}
	out, err := yamlNodeToJSON(docs[0])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// yamlNodeToJSON converts a YAML node to JSON text. Mapping keys become
// strings, so the key 1 becomes "1".
func yamlNodeToJSON(n *yaml.Node) ([]byte, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	v, err := jsonValue(v)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("line %d: %w", n.Line, err)
	}
	return out, nil
}

// jsonValue turns the maps with non-string keys that yaml.v3 produces
// into maps that encoding/json can encode.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, item := range v {
			converted, err := jsonValue(item)
			if err != nil {
				return nil, err
			}
			v[k] = converted
		}
		return v, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			converted, err := jsonValue(item)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = converted
		}
		return out, nil
	case []any:
		for i, item := range v {
			converted, err := jsonValue(item)
			if err != nil {
				return nil, err
			}
			v[i] = converted
		}
		return v, nil
	default:
		return v, nil
	}
}

// importItem is one schedule of an import file.
type importItem struct {
	index int    // position in the file, from 0
	line  int    // line where the item starts, from 1
	body  []byte // JSON text, nil when err is set
	name  string // the item's "name" when it is a string
	err   error  // reading or conversion error, nil for a readable item
}

// readItems reads the schedules of an import file: a JSON array, a
// sequence of JSON objects (JSON lines), a YAML list, or a stream of YAML
// documents, each one schedule.
func readItems(path string, env *cliEnv) ([]importItem, error) {
	data, err := readInput(path, env)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if !isYAMLName(path) && len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		items, jsonErr := readJSONItems(data)
		if jsonErr == nil {
			return items, nil
		}
		if strings.ToLower(filepath.Ext(path)) == ".json" || strings.ToLower(filepath.Ext(path)) == ".jsonl" {
			return nil, fmt.Errorf("%s: %w", path, jsonErr)
		}
	}
	items, err := readYAMLItems(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return items, nil
}

// readJSONItems reads a JSON array, or a sequence of JSON values such as
// JSON lines.
func readJSONItems(data []byte) ([]importItem, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	array := trimmed[0] == '['
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
	}
	var items []importItem
	for dec.More() {
		line := lineAt(data, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("item %d (line %d): %w", len(items), line, err)
		}
		items = append(items, newImportItem(len(items), line, raw))
	}
	if array {
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("end of array: %w", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return nil, errors.New("data after the JSON array; give one array")
		}
	}
	return items, nil
}

// lineAt returns the line of the first byte at or after offset that is
// not white space or a comma.
func lineAt(data []byte, offset int64) int {
	i := int(offset)
	for i < len(data) && strings.IndexByte(" \t\r\n,", data[i]) >= 0 {
		i++
	}
	return bytes.Count(data[:i], []byte("\n")) + 1
}

// readYAMLItems reads a YAML list, or a stream of YAML documents that
// are not lists.
func readYAMLItems(data []byte) ([]importItem, error) {
	var nodes []*yaml.Node
	listSeen := false
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("not a JSON array, JSON lines or YAML: %w", err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if listSeen || (root.Kind == yaml.SequenceNode && len(nodes) > 0) {
			return nil, fmt.Errorf("line %d: give one YAML list, or documents that are each one schedule", root.Line)
		}
		if root.Kind == yaml.SequenceNode {
			listSeen = true
			nodes = append(nodes, root.Content...)
			continue
		}
		nodes = append(nodes, root)
	}
	items := make([]importItem, len(nodes))
	for i, n := range nodes {
		body, err := yamlNodeToJSON(n)
		if err != nil {
			items[i] = importItem{index: i, line: n.Line, err: err}
			continue
		}
		items[i] = newImportItem(i, n.Line, body)
	}
	return items, nil
}

func newImportItem(index, line int, body []byte) importItem {
	var named struct {
		Name any `json:"name"`
	}
	_ = json.Unmarshal(body, &named)
	name, _ := named.Name.(string)
	return importItem{index: index, line: line, body: body, name: name}
}
