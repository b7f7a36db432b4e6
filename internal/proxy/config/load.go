package config

import (
	"fmt"
	"os"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// LoadBootstrapFile reads, parses and checks an Envoy v3 Bootstrap from a YAML or JSON file.
func LoadBootstrapFile(path string) (*bootstrapv3.Bootstrap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, err := ParseBootstrap(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// ParseBootstrap parses and checks an Envoy v3 Bootstrap given as YAML or JSON.
func ParseBootstrap(data []byte) (*bootstrapv3.Bootstrap, error) {
	b := &bootstrapv3.Bootstrap{}
	if err := Unmarshal(data, b); err != nil {
		return nil, err
	}
	if err := Validate(b); err != nil {
		return nil, fmt.Errorf("invalid bootstrap: %w", err)
	}
	if err := Check(b); err != nil {
		return nil, err
	}
	return b, nil
}

// Unmarshal parses YAML or JSON (JSON is YAML) into m with Envoy's proto JSON mapping.
// Unknown fields are an error. Durations may also be written as objects
// ({seconds: 30}), as Envoy's loader accepts.
func Unmarshal(data []byte, m proto.Message) error {
	js, err := durationsAsStrings(data, m.ProtoReflect().Descriptor())
	if err != nil {
		return err
	}
	if err := protojson.Unmarshal(js, m); err != nil {
		return fmt.Errorf("parse %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	return nil
}
