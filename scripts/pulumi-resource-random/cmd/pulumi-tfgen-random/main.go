// Command pulumi-tfgen-random writes the Pulumi package schema (schema.json) and
// bridge-metadata.json of the random provider, from bridge.Provider:
//
//	pulumi-tfgen-random schema --out DIR --skip-docs --skip-examples
package main

import (
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfgen"

	"local/pulumi-resource-random/bridge"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "0.0.0-dev"

func main() {
	tfgen.Main("random", bridge.Provider(version, nil))
}
