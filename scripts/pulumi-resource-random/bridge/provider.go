// Package bridge is our configuration of pulumi-terraform-bridge for the
// Terraform random provider: which Terraform resource becomes which Pulumi
// resource token. The tokens are the ones the pinned Python SDK
// (pulumi-random==4.21.4, requirements.txt) registers, so the SDK and this
// plugin agree; the property names follow from the bridge's standard naming.
//
// Written for llm-serving from the bridge's API (pulumi-terraform-bridge
// v3.137.0, pkg/pf/tfbridge and pkg/tfbridge); pulumi-random's own
// provider/resources.go is not a Go module the proxy serves.
package bridge

import (
	"context"

	pf "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/pf/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/terraform-providers/terraform-provider-random/shim"
)

// ResourceTokens maps every Terraform resource of the provider to the token
// pulumi_random 4.21.4 uses. tfgen fails the build on a Terraform resource
// missing here, so a provider upgrade that adds one cannot slip through.
var ResourceTokens = map[string]tokens.Type{
	"random_bytes":    "random:index/randomBytes:RandomBytes",
	"random_id":       "random:index/randomId:RandomId",
	"random_integer":  "random:index/randomInteger:RandomInteger",
	"random_password": "random:index/randomPassword:RandomPassword",
	"random_pet":      "random:index/randomPet:RandomPet",
	"random_shuffle":  "random:index/randomShuffle:RandomShuffle",
	"random_string":   "random:index/randomString:RandomString",
	"random_uuid":     "random:index/randomUuid:RandomUuid",
	"random_uuid4":    "random:index/randomUuid4:RandomUuid4",
	"random_uuid7":    "random:index/randomUuid7:RandomUuid7",
}

// Provider returns the bridge configuration. version is the plugin version
// (semver, no leading v); metadata is the bridge-metadata.json tfgen wrote
// (empty when tfgen itself runs).
func Provider(version string, metadata []byte) tfbridge.ProviderInfo {
	resources := make(map[string]*tfbridge.ResourceInfo, len(ResourceTokens))
	for terraformType, token := range ResourceTokens {
		resources[terraformType] = &tfbridge.ResourceInfo{Tok: token}
	}
	// random_bytes has no "id" attribute. pulumi-random uses its base64 value as
	// the ID, which puts the secret in plaintext into the state's resource ID; a
	// constant ID (like random_password's "none") keeps it secret.
	resources["random_bytes"].ComputeID = constantID

	return tfbridge.ProviderInfo{
		P:            pf.ShimProvider(shim.NewProvider()),
		Name:         "random",
		Version:      version,
		Description:  "Random values (passwords, IDs) for llm-serving, bridged from the Terraform random provider.",
		License:      "MPL-2.0",
		Homepage:     "https://github.com/hashicorp/terraform-provider-random",
		Repository:   "https://github.com/hashicorp/terraform-provider-random",
		MetadataInfo: tfbridge.NewProviderMetadata(metadata),
		Resources:    resources,
		// The provider's ephemeral resources (random_password, random_bytes) have
		// no Pulumi counterpart in the SDK.
	}
}

func constantID(context.Context, resource.PropertyMap) (resource.ID, error) {
	return "none", nil
}
