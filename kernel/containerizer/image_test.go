package containerizer

import (
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
)

func TestImageOf(t *testing.T) {
	tests := []struct {
		ci   *mesospb.ContainerInfo
		want *Image
	}{
		{nil, nil},
		{&mesospb.ContainerInfo{Type: mesospb.ContainerInfo_MESOS.Enum()}, nil},
		{&mesospb.ContainerInfo{Type: mesospb.ContainerInfo_DOCKER.Enum(), Docker: &mesospb.ContainerInfo_DockerInfo{Image: proto.String("a")}},
			&Image{Name: "a", Docker: true}},
		{&mesospb.ContainerInfo{Type: mesospb.ContainerInfo_MESOS.Enum(), Mesos: &mesospb.ContainerInfo_MesosInfo{
			Image: &mesospb.Image{Type: mesospb.Image_DOCKER.Enum(), Docker: &mesospb.Image_Docker{Name: proto.String("b")}}}},
			&Image{Name: "b"}},
	}
	for i, tt := range tests {
		if got := ImageOf(tt.ci); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%d: ImageOf = %+v, want %+v", i, got, tt.want)
		}
	}
}
