package dev.pocketocr.demo;

import com.getcapacitor.BridgeActivity;

public class MainActivity extends BridgeActivity {}
