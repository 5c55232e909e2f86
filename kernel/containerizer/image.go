package containerizer

import (
	"fmt"

	"strata/kernel/mesos/mesospb"
)

// Image is the container image a ContainerInfo asks for.
type Image struct {
	// Name is the image reference, e.g. "busybox:1.36"; it may be empty
	// when the ContainerInfo is malformed (a DOCKER container without
	// docker.image).
	Name string
	// Appc is true for an APPC image (MESOS container), which Strata does
	// not run.
	Appc bool
	// Docker is true for a ContainerInfo of type DOCKER (Mesos' docker
	// containerizer semantics); false for a MESOS container with an image.
	Docker bool
}

// String describes the image for messages: "'busybox' (DOCKER container)"
// or "'busybox' (DOCKER image)".
func (i *Image) String() string {
	switch {
	case i.Docker:
		return fmt.Sprintf("'%s' (DOCKER container)", i.Name)
	case i.Appc:
		return fmt.Sprintf("'%s' (APPC image)", i.Name)
	}
	return fmt.Sprintf("'%s' (DOCKER image)", i.Name)
}

// ImageOf returns the image ci asks for: docker.image of a DOCKER container,
// or mesos.image of a MESOS container. It returns nil when ci asks for no
// image (no ContainerInfo, or a MESOS container without one), which is a
// plain process container.
func ImageOf(ci *mesospb.ContainerInfo) *Image {
	if ci == nil {
		return nil
	}
	if ci.GetType() == mesospb.ContainerInfo_DOCKER || ci.GetDocker() != nil {
		return &Image{Name: ci.GetDocker().GetImage(), Docker: true}
	}
	img := ci.GetMesos().GetImage()
	if img == nil {
		return nil
	}
	if img.GetType() == mesospb.Image_APPC {
		return &Image{Name: img.GetAppc().GetName(), Appc: true}
	}
	return &Image{Name: img.GetDocker().GetName()}
}
