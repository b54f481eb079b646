// wp_axis_track: bounded end-to-end properties of a stream design (formal only).
//
// Counts beats and frames (tlast beats) taken on the input (s_*) and given on the output
// (m_*), and asserts:
//  * never more beats or frames out than in (nothing invented or duplicated);
//  * CHECK_DATA: the output beat number `pick` (any value the solver chooses) equals the input
//    beat number `pick` in tdata, tkeep, tuser and tlast: with `pick` free, every beat
//    arrives once, in order, unchanged (for frames the design must pass unchanged);
//  * LIVE > 0: while a whole input frame (LIVE_BEATS: any beat) is inside the design, an output
//    beat comes at least every LIVE cycles, and an input beat offered (s_tvalid) is taken
//    within LIVE cycles: no deadlock, given the environment's fair back-pressure (assumed by
//    the caller: m_tready low for at most a few cycles in a row).
// A cover statement (the COVER_FRAMES-th frame leaves) gives the depth a bounded proof must
// reach before its data and liveness checks say anything (sim/test_formal.py checks that).

`default_nettype none

module wp_axis_track #(
    parameter DATA_WIDTH = 256,
    parameter USER_WIDTH = 128,
    parameter CHECK_DATA = 1,
    parameter LIVE = 0,
    parameter LIVE_BEATS = 0,
    // cover: the COVER_FRAMES-th frame leaves (shows how deep a run must go to see output)
    parameter COVER_FRAMES = 2,
    parameter CW = 8
) (
    input wire                    clk,
    input wire                    rst,
    input wire [DATA_WIDTH-1:0]   s_tdata,
    input wire [DATA_WIDTH/8-1:0] s_tkeep,
    input wire [USER_WIDTH-1:0]   s_tuser,
    input wire                    s_tlast,
    input wire                    s_tvalid,
    input wire                    s_tready,
    input wire [DATA_WIDTH-1:0]   m_tdata,
    input wire [DATA_WIDTH/8-1:0] m_tkeep,
    input wire [USER_WIDTH-1:0]   m_tuser,
    input wire                    m_tlast,
    input wire                    m_tvalid,
    input wire                    m_tready
);

localparam W = DATA_WIDTH + DATA_WIDTH / 8 + USER_WIDTH + 1;

reg [CW-1:0] in_beats = 0, out_beats = 0, in_frames = 0, out_frames = 0;
reg [CW-1:0] out_wait = 0, in_wait = 0;
(* anyconst *) reg [CW-1:0] pick;
reg          rec_valid = 1'b0;
reg [W-1:0]  rec = 0;

wire s_hs = s_tvalid && s_tready;
wire m_hs = m_tvalid && m_tready;
wire [W-1:0] s_word = {s_tlast, s_tuser, s_tkeep, s_tdata};
wire [W-1:0] m_word = {m_tlast, m_tuser, m_tkeep, m_tdata};
wire inside = LIVE_BEATS ? in_beats != out_beats : in_frames != out_frames;

always @(posedge clk) begin
    if (s_hs) begin
        in_beats <= in_beats + 1'b1;
        if (s_tlast) in_frames <= in_frames + 1'b1;
        if (in_beats == pick) begin
            rec_valid <= 1'b1;
            rec <= s_word;
        end
    end
    if (m_hs) begin
        out_beats <= out_beats + 1'b1;
        if (m_tlast) out_frames <= out_frames + 1'b1;
    end
    out_wait <= (m_hs || !inside) ? 0 : out_wait + 1'b1;
    in_wait <= (s_hs || !s_tvalid) ? 0 : in_wait + 1'b1;
    if (rst) begin
        in_beats <= 0;
        out_beats <= 0;
        in_frames <= 0;
        out_frames <= 0;
        rec_valid <= 1'b0;
        out_wait <= 0;
        in_wait <= 0;
    end
end

always @* begin
    if (!rst) begin
        // the counters must not wrap within the bounded depth
        assume(in_beats != {CW{1'b1}});
        assert(out_beats <= in_beats);
        assert(out_frames <= in_frames);
        if (CHECK_DATA && m_hs && out_beats == pick) begin
            assert(rec_valid || (s_hs && in_beats == pick));
            if (rec_valid) assert(m_word == rec);
        end
        cover(m_hs && m_tlast && out_frames == COVER_FRAMES - 1);
        if (LIVE) begin
            assert(out_wait < LIVE);
            assert(in_wait < LIVE);
        end
    end
end

endmodule
