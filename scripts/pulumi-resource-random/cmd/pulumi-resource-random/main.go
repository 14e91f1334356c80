// Command pulumi-resource-random is the Pulumi resource plugin for the random
// provider. schema.json and bridge-metadata.json are written next to this file
// by pulumi-tfgen-random at build time (scripts/tools.sh), then embedded.
package main

import (
	"context"
	_ "embed"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"

	"local/pulumi-resource-random/bridge"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "0.0.0-dev"

//go:embed schema.json
var packageSchema []byte

//go:embed bridge-metadata.json
var bridgeMetadata []byte

func main() {
	pf.Main(context.Background(), "random", bridge.Provider(version, bridgeMetadata),
		pf.ProviderMetadata{PackageSchema: packageSchema})
}
