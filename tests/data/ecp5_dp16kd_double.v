// Test double of Lattice's DP16KD (ECP5 block RAM) for iverilog, used by
// tests/test_ecp5_outreg.py: yosys ships no simulation model of DP16KD (its cells_sim_ecp5.v
// declares it as a black box), and Lattice's is not in any registry.
//
// It models what yosys's memory mapping (share/lattice/brams_map_16kd.v, $__PDPW16KD_) uses
// for a 36-bit pseudo-dual-port RAM: writes on port A (DATA_WIDTH_A 36, WEA and CEA, the four
// 9-bit byte enables on ADA[3:0], the word address on ADA[13:5], the data {DIB, DIA}); reads
// on port B (DATA_WIDTH_B 36, clock CLKB, read enable CEB, address ADB[13:5], the data
// {DOB, DOA}); a read register loaded when CEB is high and cleared by RSTB; with REGMODE "OUTREG"
// an output register after it on CLKB, loaded from it when OCE is high (Lattice TN1264): DOA's
// half with REGMODE_A / OCEA, DOB's half with REGMODE_B / OCEB. Every other mode stops the
// simulation: the double covers only what the test's netlists contain. Contents start at 0
// (yosys maps RAMs without an initial value with zero INITVALs).

`timescale 1ns / 1ps

module DP16KD (
    input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6,
    input DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
    input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
    input CEA, OCEA, CLKA, WEA, RSTA,
    input CSA2, CSA1, CSA0,
    output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6,
    output DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
    input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6,
    input DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
    input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
    input CEB, OCEB, CLKB, WEB, RSTB,
    input CSB2, CSB1, CSB0,
    output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6,
    output DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
    parameter DATA_WIDTH_A = 18;
    parameter DATA_WIDTH_B = 18;
    parameter REGMODE_A = "NOREG";
    parameter REGMODE_B = "NOREG";
    parameter RESETMODE = "SYNC";
    parameter ASYNC_RESET_RELEASE = "SYNC";
    parameter CSDECODE_A = "0b000";
    parameter CSDECODE_B = "0b000";
    parameter WRITEMODE_A = "NORMAL";
    parameter WRITEMODE_B = "NORMAL";
    parameter CLKAMUX = "CLKA";
    parameter CLKBMUX = "CLKB";
    parameter GSR = "ENABLED";
    // INITVAL_00 .. INITVAL_3F are accepted and must be zero (checked below)
    parameter [319:0] INITVAL_00 = 0, INITVAL_01 = 0, INITVAL_02 = 0, INITVAL_03 = 0;
    parameter [319:0] INITVAL_04 = 0, INITVAL_05 = 0, INITVAL_06 = 0, INITVAL_07 = 0;
    parameter [319:0] INITVAL_08 = 0, INITVAL_09 = 0, INITVAL_0A = 0, INITVAL_0B = 0;
    parameter [319:0] INITVAL_0C = 0, INITVAL_0D = 0, INITVAL_0E = 0, INITVAL_0F = 0;
    parameter [319:0] INITVAL_10 = 0, INITVAL_11 = 0, INITVAL_12 = 0, INITVAL_13 = 0;
    parameter [319:0] INITVAL_14 = 0, INITVAL_15 = 0, INITVAL_16 = 0, INITVAL_17 = 0;
    parameter [319:0] INITVAL_18 = 0, INITVAL_19 = 0, INITVAL_1A = 0, INITVAL_1B = 0;
    parameter [319:0] INITVAL_1C = 0, INITVAL_1D = 0, INITVAL_1E = 0, INITVAL_1F = 0;
    parameter [319:0] INITVAL_20 = 0, INITVAL_21 = 0, INITVAL_22 = 0, INITVAL_23 = 0;
    parameter [319:0] INITVAL_24 = 0, INITVAL_25 = 0, INITVAL_26 = 0, INITVAL_27 = 0;
    parameter [319:0] INITVAL_28 = 0, INITVAL_29 = 0, INITVAL_2A = 0, INITVAL_2B = 0;
    parameter [319:0] INITVAL_2C = 0, INITVAL_2D = 0, INITVAL_2E = 0, INITVAL_2F = 0;
    parameter [319:0] INITVAL_30 = 0, INITVAL_31 = 0, INITVAL_32 = 0, INITVAL_33 = 0;
    parameter [319:0] INITVAL_34 = 0, INITVAL_35 = 0, INITVAL_36 = 0, INITVAL_37 = 0;
    parameter [319:0] INITVAL_38 = 0, INITVAL_39 = 0, INITVAL_3A = 0, INITVAL_3B = 0;
    parameter [319:0] INITVAL_3C = 0, INITVAL_3D = 0, INITVAL_3E = 0, INITVAL_3F = 0;
    parameter INIT_DATA = "STATIC";
    parameter WID = 0;

    wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3,
                       ADA2, ADA1, ADA0};
    wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3,
                       ADB2, ADB1, ADB0};
    wire [35:0] di = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7,
                      DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
                      DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7,
                      DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};

    reg [35:0] mem [0:511];
    reg [35:0] latch = 0;  // the read register
    reg [35:0] oreg = 0;   // the output register (REGMODE "OUTREG")
    integer i;

    initial begin
        for (i = 0; i < 512; i = i + 1) mem[i] = 0;
        if (DATA_WIDTH_A != 36 || DATA_WIDTH_B != 36 || CLKAMUX != "CLKA" || CLKBMUX != "CLKB"
                || RESETMODE != "SYNC" && RESETMODE != "ASYNC"
                || (REGMODE_A != "NOREG" && REGMODE_A != "OUTREG")
                || (REGMODE_B != "NOREG" && REGMODE_B != "OUTREG")
                || INITVAL_00 != 0 || INITVAL_3F != 0) begin
            $display("DP16KD double: mode not modelled (%m)");
            $finish;
        end
    end

    always @(posedge CLKA) begin
        if (CEA && WEA) begin
            for (i = 0; i < 4; i = i + 1)
                if (ada[i]) mem[ada[13:5]][i*9 +: 9] <= di[i*9 +: 9];
        end
    end

    always @(posedge CLKB) begin
        if (RSTB) latch <= 0;
        else if (CEB) latch <= mem[adb[13:5]];
        if (RSTB) oreg <= 0;
        else begin
            if (OCEA) oreg[17:0] <= latch[17:0];
            if (OCEB) oreg[35:18] <= latch[35:18];
        end
    end

    wire [35:0] do_ = {REGMODE_B == "OUTREG" ? oreg[35:18] : latch[35:18],
                       REGMODE_A == "OUTREG" ? oreg[17:0] : latch[17:0]};
    assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6,
            DOB5, DOB4, DOB3, DOB2, DOB1, DOB0,
            DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6,
            DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = do_;
endmodule
