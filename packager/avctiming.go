package packager

import "errors"

// h264FrameRate reads the frame rate an H.264 SPS declares in its VUI
// timing info (H.264 7.3.2.1.1 and E.1.1), 0 when it declares none. mp4ff
// reads the VUI only together with the HRD parameters, whose unbounded
// cpb_cnt_minus1 loop lets a 25-byte SPS allocate without limit, so the
// packager walks the SPS to the timing info itself and stops there.
func h264FrameRate(sps []byte) (float64, error) {
	r := rbspReader{b: sps}
	r.skip(8) // NAL header
	profile := r.read(8)
	r.skip(16) // constraint flags, level
	r.ue()     // seq_parameter_set_id
	switch profile {
	case 100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135:
		chroma := r.ue()
		if chroma == 3 {
			r.skip(1) // separate_colour_plane_flag
		}
		r.ue()        // bit_depth_luma_minus8
		r.ue()        // bit_depth_chroma_minus8
		r.skip(1)     // qpprime_y_zero_transform_bypass_flag
		if r.flag() { // seq_scaling_matrix_present_flag
			lists := 8
			if chroma == 3 {
				lists = 12
			}
			for i := range lists {
				if !r.flag() {
					continue
				}
				size := 16
				if i >= 6 {
					size = 64
				}
				last, next := int64(8), int64(8)
				for range size {
					if next != 0 {
						next = (last + r.se() + 256) % 256
					}
					if next != 0 {
						last = next
					}
				}
			}
		}
	}
	r.ue()          // log2_max_frame_num_minus4
	switch r.ue() { // pic_order_cnt_type
	case 0:
		r.ue() // log2_max_pic_order_cnt_lsb_minus4
	case 1:
		r.skip(1) // delta_pic_order_always_zero_flag
		r.se()    // offset_for_non_ref_pic
		r.se()    // offset_for_top_to_bottom_field
		n := r.ue()
		if n > 255 {
			return 0, errors.New("h264 sps: num_ref_frames_in_pic_order_cnt_cycle out of range")
		}
		for range n {
			r.se()
		}
	}
	r.ue()         // max_num_ref_frames
	r.skip(1)      // gaps_in_frame_num_value_allowed_flag
	r.ue()         // pic_width_in_mbs_minus1
	r.ue()         // pic_height_in_map_units_minus1
	if !r.flag() { // frame_mbs_only_flag
		r.skip(1) // mb_adaptive_frame_field_flag
	}
	r.skip(1)     // direct_8x8_inference_flag
	if r.flag() { // frame_cropping_flag
		r.ue()
		r.ue()
		r.ue()
		r.ue()
	}
	if !r.flag() { // vui_parameters_present_flag
		return 0, r.err()
	}
	if r.flag() { // aspect_ratio_info_present_flag
		if r.read(8) == 255 { // Extended_SAR
			r.skip(32)
		}
	}
	if r.flag() { // overscan_info_present_flag
		r.skip(1)
	}
	if r.flag() { // video_signal_type_present_flag
		r.skip(4)
		if r.flag() { // colour_description_present_flag
			r.skip(24)
		}
	}
	if r.flag() { // chroma_loc_info_present_flag
		r.ue()
		r.ue()
	}
	if !r.flag() { // timing_info_present_flag
		return 0, r.err()
	}
	units, scale := r.read(32), r.read(32)
	if err := r.err(); err != nil || units == 0 {
		return 0, err
	}
	return sanitizeRate(float64(scale) / float64(2*units)), nil // two ticks per frame
}

// rbspReader reads the bits of a NAL unit's payload, skipping emulation
// prevention bytes (00 00 03). Reading past the end yields zeros and
// records the overrun.
type rbspReader struct {
	b       []byte
	i       int  // next byte
	cur     byte // current byte
	n       int  // bits left in cur
	zeros   int  // zero bytes just read
	overrun bool
}

func (r *rbspReader) bit() uint64 {
	if r.n == 0 {
		if r.i < len(r.b) && r.zeros >= 2 && r.b[r.i] == 3 {
			r.i++ // emulation prevention byte
			r.zeros = 0
		}
		if r.i >= len(r.b) {
			r.overrun = true
			return 0
		}
		r.cur = r.b[r.i]
		r.i++
		r.n = 8
		if r.cur == 0 {
			r.zeros++
		} else {
			r.zeros = 0
		}
	}
	r.n--
	return uint64(r.cur>>r.n) & 1
}

func (r *rbspReader) read(n int) uint64 {
	var v uint64
	for range n {
		v = v<<1 | r.bit()
	}
	return v
}

func (r *rbspReader) skip(n int) { r.read(n) }
func (r *rbspReader) flag() bool { return r.bit() == 1 }
func (r *rbspReader) err() error {
	if r.overrun {
		return errors.New("h264 sps: truncated")
	}
	return nil
}

// ue reads an unsigned Exp-Golomb code; codes longer than 32 bits are
// invalid in an SPS and read as an overrun.
func (r *rbspReader) ue() uint64 {
	zeros := 0
	for r.bit() == 0 {
		if zeros++; zeros > 32 || r.overrun {
			r.overrun = true
			return 0
		}
	}
	return 1<<zeros - 1 + r.read(zeros)
}

// se reads a signed Exp-Golomb code.
func (r *rbspReader) se() int64 {
	k := r.ue()
	if k&1 == 1 {
		return int64(k+1) / 2
	}
	return -int64(k / 2)
}
